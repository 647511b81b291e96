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
3. Each topic has *clauses*: pattern sets such that one pattern of each occurs in every item its
   query matches (a term is a clause; AND and NEAR need all their children's; an OR is one
   clause, the union of its children's most specific ones; a NOT needs nothing). Clauses are
   numbered once however many topics share them, and a topic is indexed by its two most specific
   ones (``_trigger_cost``: phrases are rare, prefixes and short words common). An item
   *satisfies* the clauses whose patterns were found, and only topics whose first two clauses it
   satisfies are woken, so a word shared by thousands of topics ("shelling") wakes only those
   whose place was found too. A woken topic's other clauses are one subset test.
   Then the language filter (a topic with ``languages`` matches items in those languages; an item
   of unknown language is always eligible), the source filter (a ``sources`` entry is a substring
   of the feed URL's host), and the boolean query over the found occurrences (``evaluate``:
   ``title:`` restricts to a field, ``NEAR/n`` checks token distance within one field, ``NOT``
   checks absence).
4. A match carries a ``Hit`` per occurrence that made the query true (field, character offsets in
   the original text, the query term as written) and a score: each distinct matched term counts 1,
   plus 0.5 if it occurs in the title. A topic whose score is below its ``min_score`` does not
   match. Matches come best score first, then in the order topics were added.

Speed: an item costs its normalization (``split_words`` and ``word_keys``; character offsets are
worked out only for the hits of topics that match), one automaton scan per field, and work for the
few topics woken, not for every topic. ``bench/match.py`` measures it at 10, 1,000 and 10,000
topics against a one-regex-per-topic baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import ahocorasick

from bot.match.clauses import Clause, ClauseIndex
from bot.match.evaluate import Occurrence, Plan, compile_plan
from bot.match.normalize import split_words, word_keys, word_spans
from bot.match.query import And, Field, Near, Node, Or, Prefix, Term, leaves, parse_query
from bot.model import Hit, Item, Match, Topic

__all__ = ["Matcher"]

KEY_SEP = "\x1f"
FORM_SEP = "\x1e"
TITLE_BONUS = 0.5


@dataclass(frozen=True, slots=True, eq=False)
class _CompiledTopic:
    topic: Topic
    plan: Plan
    labels: Mapping[str, str]  # pattern → its first term as written (евакуац* = эвакуац*)
    clauses: tuple[Clause, ...]  # every clause, most specific first: one of each must occur
    checks: frozenset[int]  # the clauses beyond the two that wake the topic, by number
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
        self._clauses = ClauseIndex()
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
        clauses = sorted(dict.fromkeys(_clauses(query) or [frozenset(labels)]), key=_trigger_cost)
        checks = self._clauses.add(topic.id, clauses)
        self._added += 1
        self._topics[topic.id] = _CompiledTopic(
            topic,
            compile_plan(query),
            labels,
            tuple(clauses),
            checks,
            self._added,
            frozenset(language.lower() for language in topic.languages),
            tuple(source.lower() for source in topic.sources),
        )
        for pattern in labels:
            self._uses[pattern] += 1
            self._stale |= self._uses[pattern] == 1

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
        self._clauses.remove(topic_id, compiled.clauses)
        return True

    def match(self, item: Item) -> list[Match]:
        """Every topic ``item`` matches, best first, each with the hits that made it match."""
        if self._stale:
            self._rebuild()
        if self._automaton is None:
            return []
        found: dict[str, list[Occurrence]] = {}
        offsets = _Offsets()
        self._scan("title", item.title, found, offsets)
        self._scan("summary", item.summary, found, offsets)
        satisfied = self._clauses.satisfied(found)
        woken = self._clauses.woken(satisfied)
        if not woken:
            return []
        language = (item.language or "").lower().replace("_", "-").split("-")[0]
        matches = []
        for topic_id in woken:
            compiled = self._topics[topic_id]
            if compiled.languages and language and language not in compiled.languages:
                continue
            if compiled.checks and not compiled.checks <= satisfied:
                continue
            if compiled.sources and not _from_sources(compiled, item):
                continue
            evidence = compiled.plan.holds(found, None)
            if evidence is None:
                continue
            result = _to_match(compiled, evidence, offsets)
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

    def _scan(
        self, field: str, text: str, found: dict[str, list[Occurrence]], offsets: _Offsets
    ) -> None:
        if not text or self._automaton is None:
            return
        parts = offsets.parts[field] = split_words(text)
        keys, forms = word_keys(parts)
        offsets.all_words_are_tokens[field] = len(keys) * 2 + 1 == len(parts)
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
                occurrence = (pattern, field, last - length + 1, last)
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


@lru_cache(maxsize=65_536)  # topics share clauses (every "@kyiv"), and add() sorts by this
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


class _Offsets:
    """Where tokens are in an item's fields, worked out only for the tokens that hits point at.

    Token i is word i of ``split_words`` unless a word had nothing to match (then all offsets are
    worked out, as ``word_spans`` does); its start is the length of everything before it.
    """

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {}  # field → its split_words
        self.all_words_are_tokens: dict[str, bool] = {}
        self._spans: dict[str, list[tuple[int, int]]] = {}
        self._hits: dict[tuple[bool, int, int, str], Hit] = {}

    def hit(self, row: tuple[bool, int, int, str]) -> Hit:
        """The hit of ``(in summary, first token, last token, term)``; topics that matched the
        same words share it (a frozen dataclass is slow to make, and equal ones are the same)."""
        hit = self._hits.get(row)
        if hit is None:
            field = "summary" if row[0] else "title"
            hit = self._hits[row] = Hit(field, *self.span(field, row[1], row[2]), row[3])
        return hit

    def span(self, field: str, first: int, last: int) -> tuple[int, int]:
        parts = self.parts[field]
        if not self.all_words_are_tokens[field]:
            spans = self._spans.get(field) or self._spans.setdefault(field, word_spans(parts))
            return spans[first][0], spans[last][1]
        start = len("".join(parts[: 2 * first + 1]))
        return start, start + len("".join(parts[2 * first + 1 : 2 * last + 2]))


def _to_match(compiled: _CompiledTopic, evidence: list[Occurrence], offsets: _Offsets) -> Match:
    labels = compiled.labels
    # Sorted and deduplicated as plain tuples; token order is text order, title first.
    rows = sorted(
        {
            (field != "title", first, last, labels[pattern])
            for pattern, field, first, last in evidence
        }
    )
    in_title: dict[str, bool] = {}
    for in_summary, _, _, term in rows:
        in_title[term] = in_title.get(term, False) or not in_summary
    score = sum(1.0 + (TITLE_BONUS if title else 0.0) for title in in_title.values())
    return Match(compiled.topic.id, tuple(map(offsets.hit, rows)), score)
