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
3. Each topic has *clauses*: pattern sets one pattern of each of which occurs in every item its
   query matches (a term is one clause, AND and NEAR add up their children's, an OR is one clause
   made of its children's triggers). Its *trigger* is the most specific clause (for AND, the most
   specific child's; for OR, all children's). Only topics whose trigger was found are woken, so a
   common word shared by thousands of topics does not wake them all, and a woken topic with a
   clause not found is dropped at the cost of a set test, before any query is evaluated.
   Then the language filter (a topic with ``languages`` matches items in those languages; an item
   of unknown language is always eligible), the source filter (a ``sources`` entry is a substring
   of the feed URL's host), and the boolean query over the found occurrences (``title:``
   restricts to a field, ``NEAR/n`` checks token distance within one field, ``NOT`` checks
   absence).
4. A match carries a ``Hit`` per occurrence that made the query true (field, character offsets in
   the original text, the query term as written) and a score: each distinct matched term counts 1,
   plus 0.5 if it occurs in the title. A topic whose score is below its ``min_score`` does not
   match. Matches come best score first, then in the order topics were added.

Speed: an item costs its normalization (``normalize.text_keys``, offsets only for items that
match), one automaton scan per field, and work for the topics woken, not for every topic.
``bench/match.py`` measures it at 10, 1,000 and 10,000 topics.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import urlsplit

import ahocorasick

from bot.match.normalize import text_keys, token_spans
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
    checks: tuple[frozenset[str], ...]  # the other clauses: one of each occurs in every such item
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
        clauses = _clauses(query) or [frozenset(labels)]
        triggers = min(clauses, key=_trigger_cost)  # the first cheapest, as _triggers picks it
        checks = tuple(dict.fromkeys(clause for clause in clauses if clause != triggers))
        self._added += 1
        self._topics[topic.id] = _CompiledTopic(
            topic,
            query,
            labels,
            triggers,
            checks,
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
        found: dict[str, list[Occurrence]] = {}
        self._scan("title", item.title, found)
        self._scan("summary", item.summary, found)
        woken: set[str] = set()
        woken_by = self._woken_by
        for pattern in found:
            topic_ids = woken_by.get(pattern)
            if topic_ids:
                woken.update(topic_ids)
        if not woken:
            return []
        found_patterns = found.keys()
        language = (item.language or "").lower().replace("_", "-").split("-")[0]
        spans = _Spans(item)
        matches = []
        for topic_id in woken:
            compiled = self._topics[topic_id]
            if compiled.languages and language and language not in compiled.languages:
                continue
            if any(found_patterns.isdisjoint(clause) for clause in compiled.checks):
                continue
            if compiled.sources and not _from_sources(compiled, item):
                continue
            evidence = _evaluate(compiled.query, found, None)
            if evidence is None:
                continue
            result = _to_match(compiled, evidence, spans)
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

    def _scan(self, field: str, text: str, found: dict[str, list[Occurrence]]) -> None:
        if not text or self._automaton is None:
            return
        keys, forms = text_keys(text)
        if not keys:
            return
        key_part = KEY_SEP + KEY_SEP.join(keys) + KEY_SEP
        stream = key_part + FORM_SEP + FORM_SEP.join(forms) + FORM_SEP
        forms_start = len(key_part)
        # Matches arrive in text order; the token one ends in is the number of separators before
        # it, counted incrementally so a long text is still one linear pass.
        separator, position, count = KEY_SEP, 0, 0
        seen: set[tuple[str, int]] = set()
        for end, (pattern, length) in self._automaton.iter(stream):
            if end >= forms_start and separator == KEY_SEP:
                separator, position, count = FORM_SEP, forms_start, 0
            count += stream.count(separator, position, end)
            position = end
            last = count - 1
            if (pattern, last) not in seen:
                seen.add((pattern, last))
                occurrence = (field, last - length + 1, last)
                if pattern in found:
                    found[pattern].append(occurrence)
                else:
                    found[pattern] = [occurrence]


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


def _clauses(node: Node) -> list[frozenset[str]]:
    """Pattern sets one pattern of each of which occurs whenever ``node`` holds.

    A term is one clause; AND and NEAR need all their children, so their clauses add up; an OR
    is one clause, its ``_triggers``; a NOT needs nothing to be present.
    """
    match node:
        case Term() | Prefix():
            return [frozenset((node.pattern,))]
        case And(children):
            return [clause for child in children for clause in _clauses(child)]
        case Near(_, left, right):
            return [*_clauses(left), *_clauses(right)]
        case Field(_, child):
            return _clauses(child)
        case Or():
            union = _triggers(node)
            return [union] if union is not None else []
    return []


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


def _from_sources(compiled: _CompiledTopic, item: Item) -> bool:
    host = (urlsplit(item.feed_url).hostname or "").lower()
    return any(source in host for source in compiled.sources)


def _evaluate(
    node: Node, found: Mapping[str, list[Occurrence]], field: str | None
) -> list[Evidence] | None:
    """The evidence that ``node`` holds (possibly none, for NOT), or ``None`` if it does not.

    Hot: dispatch on the exact type, and AND/OR look their term children up inline (an OR of
    forty spellings is forty dictionary lookups, not forty calls).
    """
    if type(node) is Term or type(node) is Prefix:
        return _leaf(node, found, field)
    if type(node) is And or type(node) is Or:
        conjunction = type(node) is And
        collected: list[Evidence] = []
        held = False
        for child in node.children:
            if type(child) is Term or type(child) is Prefix:
                part = _leaf(child, found, field)
            else:
                part = _evaluate(child, found, field)
            if part is None:
                if conjunction:
                    return None
                continue
            held = True
            collected += part
        return collected if held or conjunction else None
    match node:
        case Not(child):
            return [] if _evaluate(child, found, field) is None else None
        case Field(name, child):
            return _evaluate(child, found, name)
        case Near(distance, left, right):
            return _near(distance, left, right, found, field)
    raise TypeError(f"unknown query node {node!r}")


def _leaf(
    node: Leaf, found: Mapping[str, list[Occurrence]], field: str | None
) -> list[Evidence] | None:
    occurrences = found.get(node.pattern)
    if not occurrences:
        return None
    if field is None:
        return [(node, *occurrence) for occurrence in occurrences]
    return [(node, *occurrence) for occurrence in occurrences if occurrence[0] == field] or None


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


class _Spans:
    """Token offsets of an item's fields, worked out only for fields a match points into."""

    def __init__(self, item: Item) -> None:
        self._texts = {"title": item.title, "summary": item.summary}
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def __getitem__(self, field: str) -> list[tuple[int, int]]:
        spans = self._spans.get(field)
        if spans is None:
            spans = self._spans[field] = token_spans(self._texts[field])
        return spans


def _to_match(compiled: _CompiledTopic, evidence: list[Evidence], spans: _Spans) -> Match:
    labels = compiled.labels
    hits = sorted(
        {
            Hit(field, spans[field][first][0], spans[field][last][1], labels[leaf.pattern])
            for leaf, field, first, last in evidence
        },
        key=lambda hit: (hit.field != "title", hit.start, hit.end, hit.term),
    )
    in_title: dict[str, bool] = {}
    for hit in hits:
        in_title[hit.term] = in_title.get(hit.term, False) or hit.field == "title"
    score = sum(1.0 + (TITLE_BONUS if title else 0.0) for title in in_title.values())
    return Match(compiled.topic.id, tuple(hits), score)
