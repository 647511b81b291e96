"""Clauses: which topics an item can match at all, before any query is evaluated.

A clause is a set of patterns one of which occurs in every item a topic's query matches (the
matcher derives them from the query: a term is one, AND adds up its children's, an OR is one made
of its children's). This index numbers each distinct clause once, however many topics share it
(every "@kyiv" is one clause), and files each topic under its two most specific clauses:

1. ``satisfied(found)``: the clauses one of whose patterns was found in the item;
2. ``woken(satisfied)``: the topics whose first and second clause are both satisfied (a topic
   with a single clause only needs that one). The cost follows the clauses the item satisfies,
   not the number of topics, so a word shared by thousands of topics ("shelling") wakes only
   those whose other clause (their place, say) was found too. A topic may be filed more than once
   (the matcher files an OR once per alternative) and then comes back once per filing that holds;
3. ``numbers(clauses)`` gives the numbers of a topic's clauses: the matcher checks those beyond
   the first two with one subset test against ``satisfied``.

What is filed is the caller's object for the topic (the matcher's compiled topic), so a woken
topic needs no further lookup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Generic, TypeVar

__all__ = ["Clause", "ClauseIndex"]

Clause = frozenset[str]
T = TypeVar("T")
ALONE = -1  # the "second clause" of a topic that has one clause, always satisfied
_ALONE = (ALONE,)


class ClauseIndex(Generic[T]):
    """Topics by their two most specific clauses, so an item wakes only topics it can match."""

    def __init__(self) -> None:
        self._numbers: dict[Clause, int] = {}
        self._clause: dict[int, Clause] = {}
        self._uses: Counter[int] = Counter()
        self._containing: dict[str, set[int]] = {}  # pattern → the clauses it is part of
        # first clause → second clause (ALONE for a topic with one) → topics. Lists, not sets:
        # they are read for every item, and a topic filed twice under one pair (alternatives
        # sharing their first clauses) is listed twice, so removing one filing leaves the other.
        self._groups: dict[int, dict[int, list[T]]] = {}
        # first clause → its second clauses as a set, made on first use for a group of more than
        # a few: intersecting it with the satisfied clauses is quicker than a dict's keys
        self._seconds: dict[int, frozenset[int]] = {}
        self._next = 0

    def numbers(self, clauses: Sequence[Clause]) -> tuple[int, ...]:
        """The numbers of ``clauses``, numbering new ones (``add`` then counts the uses)."""
        return tuple(self._number(clause) for clause in clauses)

    def shared(self, clauses: Sequence[Clause]) -> tuple[Clause, ...]:
        """``clauses`` as the index's own copies: topics keep one object per distinct clause,
        which keeps the garbage collector's work at start-up down."""
        return tuple(self._clause[self._number(clause)] for clause in clauses)

    def add(self, topic: T, clauses: Sequence[Clause]) -> None:
        """File a topic under its clauses, most specific first."""
        numbers = self.numbers(clauses)
        self._uses.update(numbers)
        second = numbers[1] if len(numbers) > 1 else ALONE
        self._groups.setdefault(numbers[0], {}).setdefault(second, []).append(topic)
        self._seconds.pop(numbers[0], None)

    def remove(self, topic: T, clauses: Sequence[Clause]) -> None:
        """Take back one ``add`` of the same topic and clauses."""
        numbers = [self._numbers[clause] for clause in clauses]
        by_second = self._groups[numbers[0]]
        second = numbers[1] if len(numbers) > 1 else ALONE
        by_second[second].remove(topic)
        self._seconds.pop(numbers[0], None)
        if not by_second[second]:
            del by_second[second]
            if not by_second:
                del self._groups[numbers[0]]
        for clause, number in zip(clauses, numbers, strict=True):
            self._uses[number] -= 1
            if not self._uses[number]:
                self._forget(clause, number)

    def satisfied(self, found: Iterable[str]) -> set[int]:
        """The numbers of the clauses that the found patterns satisfy, and ALONE."""
        return set().union(*map(self._containing.get, found, repeat(())), _ALONE)  # all in C

    def woken(self, satisfied: set[int]) -> list[T]:
        """The topics whose first two clauses are both satisfied; one filed under several pairs
        comes back once for each pair that is."""
        woken: list[T] = []
        groups = self._groups
        for first in groups.keys() & satisfied:  # in C: most satisfied clauses file no topic
            by_second = groups[first]
            if len(by_second) <= 4:  # usually one or two: cheaper than a set intersection
                for second, topics in by_second.items():
                    if second in satisfied:
                        woken += topics
            else:
                seconds = self._seconds.get(first)
                if seconds is None:
                    seconds = self._seconds[first] = frozenset(by_second)
                for second in seconds & satisfied:
                    woken += by_second[second]
        return woken

    def _number(self, clause: Clause) -> int:
        number = self._numbers.get(clause)
        if number is None:
            number = self._numbers[clause] = self._next
            self._clause[number] = clause
            self._next += 1
            for pattern in clause:
                self._containing.setdefault(pattern, set()).add(number)
        return number

    def _forget(self, clause: Clause, number: int) -> None:
        del self._uses[number], self._numbers[clause], self._clause[number]
        for pattern in clause:
            self._containing[pattern].discard(number)
            if not self._containing[pattern]:
                del self._containing[pattern]
