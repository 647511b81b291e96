"""Matching: which topics an item is about, and the evidence, in one pass over its text.

Contract, in the order things happen:

1. ``add(topic)`` parses and validates the topic's query (``QueryError`` on a bad one) and records
   its patterns: one per term or phrase (its normalized keys), one per prefix; patterns shared by
   topics are stored once. A topic with the id of an existing one replaces it. ``add`` and
   ``remove`` only mark the automaton stale when the set of patterns changes, so they are cheap;
   the automaton is rebuilt once, on the next ``match``.
2. All patterns of all topics live in ONE Aho–Corasick automaton over a normalized stream: for each
   field (title, summary) the text becomes ``␟key␟key␟…␟`` followed by ``␞form␞form␞…␞`` (see
   ``normalize``). A term or phrase is ``␟k1␟k2␟``; a prefix is ``␟p`` and ``␞p`` (it may meet the
   stemmed key or the unstemmed form). One scan per field finds every occurrence of every pattern,
   as token positions, so the cost grows with the text, not with the number of topics.
3. Each topic has *trigger* patterns, at least one of which occurs in every item its query matches
   (for AND, the most specific child's; for OR, all children's). Only topics whose triggers were
   found are looked at, so a common word shared by thousands of topics does not wake them all.
   Then the language filter (a topic with ``languages`` matches items in those languages; an item
   of unknown language is always eligible), the source filter (a ``sources`` entry is a substring
   of the feed URL's host), and the boolean query over the found occurrences (``title:``
   restricts to a field, ``NEAR/n`` checks token distance within one field, ``NOT`` checks
   absence).
4. A match carries a ``Hit`` per occurrence that made the query true (field, character offsets in
   the original text, the query term as written) and a score: each distinct matched term counts 1,
   plus 0.5 if it occurs in the title. A topic whose score is below its ``min_score`` does not
   match. Matches come best score first, then in the order topics were added.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

import ahocorasick

from bot.match.normalize import Token, normalize_text
from bot.match.query import And, Field, Leaf, Near, Node, Not, Or, Prefix, Term, leaves, parse_query
from bot.model import Hit, Item, Match, Topic

__all__ = ["Matcher"]

KEY_SEP = "\x1f"
FORM_SEP = "\x1e"
TITLE_BONUS = 0.5

# Where a pattern occurred: (field, first token, last token).
Occurrence: TypeAlias = tuple[str, int, int]
# Why a query holds: (the leaf, field, first token, last token).
Evidence: TypeAlias = tuple[Leaf, str, int, int]


@dataclass(frozen=True, slots=True)
class _CompiledTopic:
    topic: Topic
    query: Node
    labels: Mapping[str, str]  # pattern → its first term as written (евакуац* = эвакуац*)
    triggers: frozenset[str]  # at least one of these occurs in every item the query matches
    order: int
    languages: frozenset[str]
    sources: tuple[str, ...]


class Matcher:
    """Topics compiled into one automaton; ``match`` finds every topic an item is about."""

    def __init__(
        self, topics: Iterable[Topic] = (), aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self._aliases: Mapping[str, Sequence[str]] = dict(aliases or {})
        self._topics: dict[str, _CompiledTopic] = {}
        self._uses: Counter[str] = Counter()  # pattern → how many topics search for it
        self._woken_by: dict[str, set[str]] = {}  # trigger pattern → ids of topics to evaluate
        self._automaton: ahocorasick.Automaton | None = None
        self._stale = False
        self._added = 0
        for topic in topics:
            self.add(topic)

    def __len__(self) -> int:
        return len(self._topics)

    def __contains__(self, topic_id: object) -> bool:
        return topic_id in self._topics

    def add(self, topic: Topic) -> None:
        """Compile ``topic`` (raising ``QueryError`` if its query is bad) and start matching it."""
        query = parse_query(topic.query, self._aliases)
        if topic.id in self._topics:
            self.remove(topic.id)
        labels: dict[str, str] = {}
        for leaf in leaves(query):
            labels.setdefault(leaf.pattern, leaf.text)
        triggers = _triggers(query) or frozenset(labels)
        self._added += 1
        self._topics[topic.id] = _CompiledTopic(
            topic,
            query,
            labels,
            triggers,
            self._added,
            frozenset(language.lower() for language in topic.languages),
            tuple(source.lower() for source in topic.sources),
        )
        for pattern in labels:
            self._uses[pattern] += 1
            self._stale |= self._uses[pattern] == 1
        for pattern in triggers:
            self._woken_by.setdefault(pattern, set()).add(topic.id)

    def remove(self, topic_id: str) -> bool:
        """Stop matching a topic; return whether it was there."""
        compiled = self._topics.pop(topic_id, None)
        if compiled is None:
            return False
        for pattern in compiled.labels:
            self._uses[pattern] -= 1
            if not self._uses[pattern]:
                del self._uses[pattern]
                self._stale = True
        for pattern in compiled.triggers:
            self._woken_by[pattern].discard(topic_id)
            if not self._woken_by[pattern]:
                del self._woken_by[pattern]
        return True

    def match(self, item: Item) -> list[Match]:
        """Every topic ``item`` matches, best first, each with the hits that made it match."""
        if self._stale:
            self._rebuild()
        if self._automaton is None:
            return []
        fields = {"title": normalize_text(item.title), "summary": normalize_text(item.summary)}
        found: dict[str, list[Occurrence]] = {}
        for field, tokens in fields.items():
            self._scan(field, tokens, found)
        woken: set[str] = set()
        for pattern in found:
            woken.update(self._woken_by.get(pattern, ()))
        matches = []
        for topic_id in woken:
            compiled = self._topics[topic_id]
            if not _eligible(compiled, item):
                continue
            evidence = _evaluate(compiled.query, found, None)
            if evidence is None:
                continue
            result = _to_match(compiled, evidence, fields)
            if result.score >= compiled.topic.min_score:
                matches.append((compiled.order, result))
        matches.sort(key=lambda entry: (-entry[1].score, entry[0]))
        return [result for _, result in matches]

    def explain(self, text: str) -> list[Match]:
        """Match a bare headline: what the ``match`` command and a topic preview show."""
        return self.match(Item(feed_url="", key="explain", title=text))

    def _rebuild(self) -> None:
        automaton = ahocorasick.Automaton()
        for pattern in self._uses:
            kind, _, body = pattern.partition(":")
            if kind == "w":
                keys = body.split(" ")
                automaton.add_word(KEY_SEP + KEY_SEP.join(keys) + KEY_SEP, (pattern, len(keys)))
            else:
                automaton.add_word(KEY_SEP + body, (pattern, 1))
                automaton.add_word(FORM_SEP + body, (pattern, 1))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        else:
            self._automaton = None
        self._stale = False

    def _scan(self, field: str, tokens: list[Token], found: dict[str, list[Occurrence]]) -> None:
        if not tokens or self._automaton is None:
            return
        keys = KEY_SEP + KEY_SEP.join(token.key for token in tokens) + KEY_SEP
        stream = keys + FORM_SEP + FORM_SEP.join(token.form for token in tokens) + FORM_SEP
        forms_start = len(keys)
        # Matches arrive in text order; the token one ends in is the number of separators before
        # it, counted incrementally so a long text is still one linear pass.
        counted = {KEY_SEP: [0, 0], FORM_SEP: [forms_start, 0]}  # separator → [position, count]
        seen: set[tuple[str, int]] = set()
        for end, (pattern, length) in self._automaton.iter(stream):
            separator = KEY_SEP if end < forms_start else FORM_SEP
            progress = counted[separator]
            progress[1] += stream.count(separator, progress[0], end)
            progress[0] = end
            last = progress[1] - 1
            if (pattern, last) not in seen:
                seen.add((pattern, last))
                found.setdefault(pattern, []).append((field, last - length + 1, last))


def _triggers(node: Node) -> frozenset[str] | None:
    """Patterns at least one of which occurs whenever ``node`` holds; ``None`` if none must.

    For AND the most specific child's set is enough, so a topic is woken by its rarest part
    ("district 7" rather than "strike"), and a word shared by many topics does not wake them all.
    """
    match node:
        case Term() | Prefix():
            return frozenset((node.pattern,))
        case Or(children):
            union: set[str] = set()
            for child in children:
                part = _triggers(child)
                if part is None:
                    return None
                union |= part
            return frozenset(union)
        case And(children):
            options = [part for child in children if (part := _triggers(child)) is not None]
            return min(options, key=_trigger_cost) if options else None
        case Near(_, left, right):
            options = [part for part in (_triggers(left), _triggers(right)) if part is not None]
            return min(options, key=_trigger_cost) if options else None
        case Field(_, child):
            return _triggers(child)
    return None  # NOT holds when its child is absent


def _trigger_cost(patterns: frozenset[str]) -> float:
    """Roughly how often a pattern set occurs: phrases are rare, prefixes and short words common."""
    cost = 0.0
    for pattern in patterns:
        kind, _, body = pattern.partition(":")
        if kind == "p":
            cost += 3.0
        elif " " in body:
            cost += 0.5
        else:
            cost += 2.0 if len(body) <= 3 else 1.0
    return cost


def _eligible(compiled: _CompiledTopic, item: Item) -> bool:
    if compiled.languages and item.language:
        language = item.language.lower().replace("_", "-").split("-")[0]
        if language not in compiled.languages:
            return False
    if compiled.sources:
        host = (urlsplit(item.feed_url).hostname or "").lower()
        if not any(source in host for source in compiled.sources):
            return False
    return True


def _evaluate(
    node: Node, found: Mapping[str, list[Occurrence]], field: str | None
) -> list[Evidence] | None:
    """The evidence that ``node`` holds (possibly none, for NOT), or ``None`` if it does not."""
    match node:
        case Term() | Prefix():
            occurrences = found.get(node.pattern, ())
            evidence = [(node, *o) for o in occurrences if field is None or o[0] == field]
            return evidence or None
        case And(children):
            collected: list[Evidence] = []
            for child in children:
                part = _evaluate(child, found, field)
                if part is None:
                    return None
                collected.extend(part)
            return collected
        case Or(children):
            parts = [_evaluate(child, found, field) for child in children]
            held = [part for part in parts if part is not None]
            return [evidence for part in held for evidence in part] if held else None
        case Not(child):
            return [] if _evaluate(child, found, field) is None else None
        case Field(name, child):
            return _evaluate(child, found, name)
        case Near(distance, left, right):
            return _near(distance, left, right, found, field)
    raise TypeError(f"unknown query node {node!r}")


def _near(
    distance: int, left: Node, right: Node, found: Mapping[str, list[Occurrence]], field: str | None
) -> list[Evidence] | None:
    lefts = _evaluate(left, found, field)
    rights = _evaluate(right, found, field)
    if not lefts or not rights:
        return None
    close: dict[Evidence, None] = {}
    for a in lefts:
        for b in rights:
            if a[1] != b[1]:
                continue
            gap = max(b[2] - a[3], a[2] - b[3], 0)
            if gap <= distance:
                close[a] = None
                close[b] = None
    return list(close) or None


def _to_match(
    compiled: _CompiledTopic, evidence: list[Evidence], fields: Mapping[str, list[Token]]
) -> Match:
    labels = compiled.labels
    hits = sorted(
        {
            Hit(field, fields[field][first].start, fields[field][last].end, labels[leaf.pattern])
            for leaf, field, first, last in evidence
        },
        key=lambda hit: (hit.field != "title", hit.start, hit.end, hit.term),
    )
    in_title: dict[str, bool] = {}
    for hit in hits:
        in_title[hit.term] = in_title.get(hit.term, False) or hit.field == "title"
    score = sum(1.0 + (TITLE_BONUS if title else 0.0) for title in in_title.values())
    return Match(compiled.topic.id, tuple(hits), score)
