"""Matching: which topics an item is about, and the evidence, in one pass over its text.

Contract, in the order things happen:

1. ``add(topic)`` parses and validates the topic's query (``QueryError`` on a bad one) and records
   its patterns: one per term or phrase (its normalized keys), one per prefix; patterns shared by
   topics are stored once. A topic with the id of an existing one replaces it. ``add`` and
   ``remove`` only mark the automaton stale when the set of patterns changes, so they are cheap;
   the automaton is rebuilt once, on the next ``match``.
2. All patterns of all topics live in ONE Aho–Corasick automaton over normalized streams: for each
   field (title, summary) the text becomes ``␟key␟key␟…␟`` and ``␞form␞form␞…␞`` (see
   ``normalize``). A term or phrase is ``␟k1␟k2␟``; a prefix is ``␟p`` and ``␞p`` (it may meet the
   stemmed key or the unstemmed form). One scan of the keys and one of the forms of each field
   find every occurrence of every pattern, as token positions, so the cost grows with the text,
   not with the number of topics.
3. Each topic has *clauses*: pattern sets such that one pattern of each occurs in every item its
   query matches (a term is a clause; AND and NEAR need all their children's; an OR is one
   clause, the union of its children's most specific ones; a NOT needs nothing). Clauses are
   numbered once however many topics share them, and a topic is indexed by its two most specific
   ones (``_trigger_cost``: phrases are rare, prefixes and short words common). An item
   *satisfies* the clauses whose patterns were found, and only topics whose first two clauses it
   satisfies are woken, so a word shared by thousands of topics ("shelling") wakes only those
   whose place was found too. A woken topic's other clauses are one subset test. A query that is
   an OR of more than terms is filed once per alternative (``_filings``), so it is woken only when
   one alternative can hold.
   Then the language filter (a topic with ``languages`` matches items in those languages; an item
   of unknown language is always eligible), the source filter (a ``sources`` entry is a substring
   of the feed URL's host), and the boolean query over the found occurrences (``evaluate``:
   ``title:`` restricts to a field, ``NEAR/n`` checks token distance within one field, ``NOT``
   checks absence). Most queries are only their clauses, an AND of terms, OR-groups and NOTs
   (``_conjunction``): for those the satisfied clauses already say the query holds, and only
   their NOTs are checked, with no tree to walk.
4. A match carries a ``Hit`` per occurrence that made the query true (field, character offsets in
   the original text, the query term as written) and a score (``hits``): each distinct matched
   term counts 1, plus 0.5 if it occurs in the title. A topic whose score is below its
   ``min_score`` does not match. Matches come best score first, then in the order topics were
   added. The score is counted from the patterns found; the hits are built from the same
   evidence when a match's ``hits`` or ``terms`` are first read (``Match.deferred``), since most
   matches are only counted, stored or routed by topic.

Speed: an item costs its normalization (``split_words`` and ``word_keys``; character offsets are
worked out only for the hits somebody reads), one automaton scan per field, and work for the few
topics woken, not for every topic. ``bench/match.py`` measures it at 10, 1,000 and 10,000
topics against a one-regex-per-topic baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import ahocorasick

from bot.match.clauses import Clause, ClauseIndex
from bot.match.evaluate import MANY, Occurrence, Plan, compile_plan
from bot.match.hits import (
    TITLE_BONUS,
    TokenOffsets,
    evidence_hits,
    evidence_score,
    present_hits,
)
from bot.match.normalize import split_words, word_keys
from bot.match.query import (
    And,
    Expansions,
    Field,
    Near,
    Node,
    Not,
    Or,
    Prefix,
    Term,
    leaves,
    parse_query,
)
from bot.model import Item, Match, Topic

__all__ = ["Matcher"]

KEY_SEP = "\x1f"
FORM_SEP = "\x1e"

Found = dict[str, list[Occurrence]]
_NONE: frozenset[Any] = frozenset()  # one empty set for every topic that has none


@dataclass(frozen=True, slots=True, eq=False)
class _CompiledTopic:
    topic: Topic
    topic_id: str
    min_score: float
    plan: Plan | None  # None when the clauses are the whole query (see _conjunction)
    labels: Mapping[str, str]  # pattern → its first term as written (евакуац* = эвакуац*)
    filings: tuple[tuple[Clause, ...], ...]  # clause lists it is filed under (see _filings)
    checks: frozenset[int]  # with one filing: the clauses beyond the two that wake it, by number
    order: int
    languages: frozenset[str]
    sources: tuple[str, ...]
    shown: frozenset[str]  # without a plan: the patterns whose hits are shown
    excluded: frozenset[str]  # without a plan: patterns that must not occur

    def match_in(self, found: Found, titled: Set[str], offsets: TokenOffsets) -> Match | None:
        """The match in an item once every clause is satisfied, or ``None``.

        Without a plan, the satisfied clauses and the absence of the excluded patterns are the
        whole query: no tree is walked, and as each pattern has its own label, the score is
        counted from the patterns found and those of them found in the title (``titled``).
        Either way the hits are left for the match to build when somebody reads them.
        """
        if self.plan is not None:
            evidence = self.plan.holds(found, None)
            if evidence is None:
                return None
            score = evidence_score(evidence, self.labels)
            if score < self.min_score:
                return None
            return Match.deferred(
                self.topic_id, score, evidence_hits, (offsets, evidence, self.labels)
            )
        if self.excluded and not self.excluded.isdisjoint(found):
            return None
        shown = self.shown
        present = shown.intersection(found) if len(shown) > MANY else found.keys() & shown
        score = len(present) + TITLE_BONUS * len(present & titled)
        if score < self.min_score:
            return None
        return Match.deferred(
            self.topic_id, score, present_hits, (offsets, found, present, self.labels)
        )


class Matcher:
    """Topics compiled into one automaton; ``match`` finds every topic an item is about."""

    def __init__(
        self, topics: Iterable[Topic] = (), aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self._aliases: Mapping[str, Sequence[str]] = dict(aliases or {})
        self._expansions: Expansions = {}  # @alias subtrees, shared by the queries using them
        self._topics: dict[str, _CompiledTopic] = {}
        self._uses: Counter[str] = Counter()  # pattern → how many topics search for it
        self._clauses: ClauseIndex[_CompiledTopic] = ClauseIndex()
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
        query = parse_query(topic.query, self._aliases, expansions=self._expansions)
        if topic.id in self._topics:
            self.remove(topic.id)
        labels: dict[str, str] = {}
        for leaf in leaves(query):
            labels.setdefault(leaf.pattern, leaf.text)
        filings = tuple(map(self._clauses.shared, _filings(query, labels)))
        conjunction = _conjunction(query)
        shown, excluded = conjunction or ((), ())
        self._added += 1
        compiled = _CompiledTopic(
            topic,
            topic.id,
            topic.min_score,
            None if conjunction else compile_plan(query),
            labels,
            filings,
            _checks(self._clauses.numbers(filings[0])) if len(filings) == 1 else _NONE,
            self._added,
            frozenset(language.lower() for language in topic.languages) or _NONE,
            tuple(source.lower() for source in topic.sources),
            frozenset(shown),
            frozenset(excluded) or _NONE,
        )
        for clauses in filings:
            self._clauses.add(compiled, clauses)
        self._topics[topic.id] = compiled
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
        for clauses in compiled.filings:
            self._clauses.remove(compiled, clauses)
        return True

    def match(self, item: Item) -> list[Match]:
        """Every topic ``item`` matches, best first, each with the hits that made it match."""
        if self._stale:
            self._rebuild()
        if self._automaton is None:
            return []
        found: Found = {}
        offsets = TokenOffsets()
        self._scan("title", item.title, found, offsets)
        titled = set(found)
        self._scan("summary", item.summary, found, offsets)
        satisfied = self._clauses.satisfied(found)
        woken = self._clauses.woken(satisfied)
        if not woken:
            return []
        language = (item.language or "").lower().replace("_", "-").split("-")[0]
        matches = []
        for compiled in dict.fromkeys(woken):  # a topic filed twice may be woken twice
            if compiled.languages and language and language not in compiled.languages:
                continue
            if compiled.checks and not compiled.checks <= satisfied:
                continue
            if compiled.sources and not _from_sources(compiled, item):
                continue
            result = compiled.match_in(found, titled, offsets)
            if result is not None:
                matches.append((-result.score, compiled.order, result))
        matches.sort()  # orders are distinct, so matches themselves are never compared
        return [result for _, _, result in matches]

    def explain(self, text: str) -> list[Match]:
        """Match a bare headline: what the ``match`` command and a topic preview show."""
        return self.match(Item(feed_url="", key="explain", title=text))

    def _rebuild(self) -> None:
        automaton = ahocorasick.Automaton()
        for pattern in sorted(self._uses):  # trie nodes of shared prefixes end up side by side
            kind, _, body = pattern.partition(":")
            if kind == "w":
                keys = body.split(" ")
                value = (pattern, len(keys) - 1)  # the tokens it spans before its last
                automaton.add_word(KEY_SEP + KEY_SEP.join(keys) + KEY_SEP, value)
            else:
                automaton.add_word(KEY_SEP + body, (pattern, 0))
                automaton.add_word(FORM_SEP + body, (pattern, 0))
        if len(automaton):
            automaton.make_automaton()
            self._automaton = automaton
        else:
            self._automaton = None
        self._stale = False

    def _scan(self, field: str, text: str, found: Found, offsets: TokenOffsets) -> None:
        if not text or self._automaton is None:
            return
        parts = offsets.parts[field] = split_words(text)
        keys, forms = word_keys(parts)
        offsets.tokens_are_words[field] = len(keys) * 2 + 1 == len(parts)
        if keys:
            _scan_keys(self._automaton, field, KEY_SEP + KEY_SEP.join(keys) + KEY_SEP, found)
            _scan_forms(self._automaton, field, FORM_SEP + FORM_SEP.join(forms) + FORM_SEP, found)


def _scan_keys(automaton: ahocorasick.Automaton, field: str, stream: str, found: Found) -> None:
    """Record the terms, phrases and prefixes that the keys of a field meet.

    Matches arrive in text order; the token one ends in is the number of separators before it,
    counted incrementally so a long text is still one linear pass.
    """
    position, count = 0, 0
    for end, (pattern, extra) in automaton.iter(stream):
        count += stream.count(KEY_SEP, position, end)
        position = end
        occurrences = found.get(pattern)
        if occurrences is None:
            found[pattern] = [(pattern, field, count - 1 - extra, count - 1)]
        else:
            occurrences.append((pattern, field, count - 1 - extra, count - 1))


def _scan_forms(automaton: ahocorasick.Automaton, field: str, stream: str, found: Found) -> None:
    """Record the prefixes that the unstemmed forms meet, unless the same token's key did."""
    position, count = 0, 0
    for end, (pattern, _) in automaton.iter(stream):
        count += stream.count(FORM_SEP, position, end)
        position = end
        occurrence = (pattern, field, count - 1, count - 1)
        occurrences = found.get(pattern)
        if occurrences is None:
            found[pattern] = [occurrence]
        elif occurrence not in occurrences:
            occurrences.append(occurrence)


def _checks(numbers: tuple[int, ...]) -> frozenset[int]:
    """The clauses beyond the two that wake a topic."""
    return frozenset(numbers[2:]) or _NONE


def _conjunction(query: Node) -> tuple[list[str], list[str]] | None:
    """``(shown, excluded)`` patterns when the query is its clauses and nothing more, else None.

    That is an AND (or a single part) of terms, OR-groups of terms and NOTs of either, with no
    field scope or NEAR: it holds exactly when every clause is satisfied and no excluded pattern
    occurs, and its evidence is every occurrence of its other patterns.
    """
    shown: list[str] = []
    excluded: list[str] = []
    for part in query.children if isinstance(query, And) else (query,):
        negated = isinstance(part, Not)
        patterns = _flat_patterns(part.child if isinstance(part, Not) else part)
        if patterns is None:
            return None
        (excluded if negated else shown).extend(patterns)
    return (shown, excluded) if shown else None


def _flat_patterns(node: Node) -> list[str] | None:
    """The patterns of a term or an OR of terms; ``None`` for anything else."""
    if isinstance(node, Term | Prefix):
        return [node.pattern]
    if isinstance(node, Or):
        patterns = [child.pattern for child in node.children if isinstance(child, Term | Prefix)]
        return patterns if len(patterns) == len(node.children) else None
    return None


def _filings(query: Node, labels: Mapping[str, str]) -> tuple[tuple[Clause, ...], ...]:
    """The clause lists a topic is filed under, each most specific first.

    One list, unless the query is an OR of more than terms: then one per alternative, so that
    ``"Ivan Kovalenko" OR (Kovalenko AND missile)`` is woken by the phrase or by both words, not
    by every item that says "missile". Its clauses beyond the first two are then not checked
    before the query is evaluated (which list woke it is not recorded).
    """
    if isinstance(query, Or) and _flat_patterns(query) is None:
        alternatives = [_clauses(child) for child in query.children]
        if all(alternatives):
            return tuple(dict.fromkeys(_most_specific_first(clauses) for clauses in alternatives))
    return (_most_specific_first(_clauses(query) or [frozenset(labels)]),)


def _most_specific_first(clauses: list[Clause]) -> tuple[Clause, ...]:
    return tuple(sorted(dict.fromkeys(clauses), key=_trigger_cost))


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
