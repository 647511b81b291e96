"""Evaluation: does a query hold over what was found in an item, and which occurrences show it.

Contract: ``compile_plan(query)`` turns a parsed query (``bot.match.query``) into a ``Plan`` once,
when a topic is added; ``plan.holds(found, None)`` then answers for one item, where ``found`` maps
each pattern that occurred in the item to its occurrences, ``(pattern, field, first token, last
token)``, as the matcher's scan records them. The answer is ``None`` when the query does not hold,
else the occurrences that make it hold (its evidence; empty when only a NOT holds).

Per node:

- a term or prefix holds when its pattern occurred (in the scoped field, see ``title:``); its
  evidence is every such occurrence;
- AND holds when every child holds, with all their evidence; OR when any child holds, with the
  evidence of every child that holds, so an alert can show each spelling it met;
- NOT holds when its child does not, with no evidence;
- ``title:`` / ``summary:`` evaluate their child counting only occurrences in that field;
- ``NEAR/n(a, b)`` holds when an occurrence of a and one of b are in the same field at most n-1
  tokens apart (either order); its evidence is each occurrence that has such a partner.

This is the hot path of matching, so a plan is small slotted objects, and the terms directly under
an AND or OR are a set of patterns: an OR of forty spellings costs one set intersection with what
was found, not forty calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, TypeAlias

from bot.match.query import And, Field, Near, Node, Not, Or, Prefix, Term

__all__ = ["MANY", "Occurrence", "Plan", "compile_plan"]

# A set of patterns longer than this is intersected with what was found by looking up the found
# ones in it (an item has some ten patterns), a shorter one by looking up its own.
MANY = 8

# Where a pattern occurred: (pattern, field, first token, last token).
Occurrence: TypeAlias = tuple[str, str, int, int]
Found: TypeAlias = Mapping[str, list[Occurrence]]


class Plan(Protocol):
    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None: ...


def compile_plan(node: Node) -> Plan:
    match node:
        case Term() | Prefix():
            return _Pattern(node.pattern)
        case And(children) | Or(children):
            patterns: dict[str, None] = {}
            rest: list[Plan] = []
            for child in children:
                if isinstance(child, Term | Prefix):
                    patterns[child.pattern] = None
                else:
                    rest.append(compile_plan(child))
            if isinstance(node, And):
                return _AllOf(tuple(patterns), tuple(rest))
            return _AnyOf(tuple(patterns), tuple(rest))
        case Not(child):
            return _NoneOf(compile_plan(child))
        case Field(name, child):
            return _InField(name, compile_plan(child))
        case Near(distance, left, right):
            return _Near(distance, compile_plan(left), compile_plan(right))
    raise TypeError(f"unknown query node {node!r}")


def _in_field(occurrences: list[Occurrence], field: str | None) -> list[Occurrence]:
    return occurrences if field is None else [o for o in occurrences if o[1] == field]


class _Pattern:
    __slots__ = ("pattern",)

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        occurrences = found.get(self.pattern)
        if not occurrences or field is None:
            return occurrences
        return _in_field(occurrences, field) or None


class _AllOf:
    __slots__ = ("children", "patterns")

    def __init__(self, patterns: tuple[str, ...], children: tuple[Plan, ...]) -> None:
        self.patterns = patterns
        self.children = children

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        evidence: list[Occurrence] = []
        for pattern in self.patterns:
            occurrences = found.get(pattern)
            if not occurrences:
                return None
            if field is not None and not (occurrences := _in_field(occurrences, field)):
                return None
            evidence += occurrences
        for child in self.children:
            part = child.holds(found, field)
            if part is None:
                return None
            evidence += part
        return evidence


class _AnyOf:
    __slots__ = ("children", "many", "patterns")

    def __init__(self, patterns: tuple[str, ...], children: tuple[Plan, ...]) -> None:
        self.patterns = frozenset(patterns)
        self.many = len(self.patterns) > MANY  # then look its patterns up in what was found
        self.children = children

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        evidence: list[Occurrence] = []
        held = False
        met = self.patterns.intersection(found) if self.many else found.keys() & self.patterns
        for pattern in met:
            occurrences = found[pattern] if field is None else _in_field(found[pattern], field)
            if occurrences:
                held = True
                evidence += occurrences
        for child in self.children:
            part = child.holds(found, field)
            if part is not None:
                held = True
                evidence += part
        return evidence if held else None


class _NoneOf:
    __slots__ = ("child",)

    def __init__(self, child: Plan) -> None:
        self.child = child

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        return [] if self.child.holds(found, field) is None else None


class _InField:
    __slots__ = ("child", "name")

    def __init__(self, name: str, child: Plan) -> None:
        self.name = name
        self.child = child

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        return self.child.holds(found, self.name)


class _Near:
    __slots__ = ("distance", "left", "right")

    def __init__(self, distance: int, left: Plan, right: Plan) -> None:
        self.distance = distance
        self.left = left
        self.right = right

    def holds(self, found: Found, field: str | None) -> list[Occurrence] | None:
        lefts = self.left.holds(found, field)
        rights = self.right.holds(found, field) if lefts else None
        if not lefts or not rights:
            return None
        close: dict[Occurrence, None] = {}
        for a in lefts:
            for b in rights:
                if a[1] == b[1] and max(b[2] - a[3], a[2] - b[3], 0) <= self.distance:
                    close[a] = None
                    close[b] = None
        return list(close) or None
