"""Finds concepts in normalized tokens: the compiled form of ``lexicon`` and ``gazetteer``.

Contract: ``Vocabulary.concepts(tokens, text)`` walks the tokens of one text (from
``normalize_text``, with ``text`` the string they point into) left to right and returns
``(index, length, concepts)`` for each match, longest phrase first at each position; a matched
token is consumed. Patterns only meet words of their own script (a Cyrillic pattern never matches
an English word that happens to fold to the same letters: гори* is not "horizon").

A departure or arrival word (``st:departed``, ``st:arrived``) within two words after a negation
(not, unable, fail…, не, ні, нет) becomes ``st:halted``: "unable to reach", "не змогла
дістатися".

Speed: everything the story layer needs to know about a word as written (its key and form, its
pattern ids, whether it is a stopword or a number, its capitals) is one ``Lexeme``, cached per
word (``Vocabulary.lexemes``, looked up from C); phrases are indexed by their first word and the
phrases a word may start are cached per set of pattern ids, so a text costs one dict lookup per
word and a few per concept. ``Vocabulary.kind`` gives every concept of a kind at once, so that a
caller sorts the concepts it found by kind with set intersections.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import NamedTuple

from bot.match.normalize import Token, analyze_word, normalize_prefix, normalize_term
from bot.match.places import load_places
from bot.memo import Memo
from bot.paths import bundled_config_dir
from bot.stories.gazetteer import BUILTIN_PLACES, COUNTRIES
from bot.stories.lexicon import (
    CONCEPT_TABLE,
    NEGATIONS,
    ORGANISATION_TABLE,
    STOPWORDS,
    parse_table,
)

__all__ = [
    "ConceptMatch",
    "Found",
    "Lexeme",
    "Vocabulary",
    "build_vocabulary",
    "default_vocabulary",
    "is_cyrillic_word",
    "merged_places",
    "place_rows",
]

_NEGATABLE = frozenset({"st:departed", "st:arrived"})
_HALTED = "st:halted"
_NEGATION_REACH = 2
_CACHE_LIMIT = 200_000

# A word pattern: (script, kind, text); kind: "=" a match key, "*" a form prefix, "." a form.
_Pattern = tuple[bool, str, str]


@dataclass(frozen=True, slots=True)
class ConceptMatch:
    """Concepts found at ``tokens[index : index + length]``."""

    index: int
    length: int
    concepts: tuple[str, ...]


class Lexeme(NamedTuple):
    """One word as written: its normalized strings and what the story layer reads from it."""

    key: str
    form: str
    content: str  # the key, or "" for a stopword or a number (never a content word or name)
    ids: frozenset[int]  # pattern ids: the concept phrases this word may be part of
    starts: _Starts | None  # the phrases it may start; None if it has no pattern ids
    capitalized: bool
    acronym: bool  # GCHQ, НПЗ: a name wherever it stands


_STARTS = attrgetter("starts")

# A concept match as ``Vocabulary.match`` gives it: (index, length, concepts).
Found = tuple[int, int, tuple[str, ...]]


def is_cyrillic_word(text: str, start: int) -> bool:
    return "\u0400" <= text[start] <= "\u04ff"


@dataclass(slots=True)
class _Phrase:
    rest: tuple[int, ...]
    concepts: tuple[str, ...]


# A phrase a word may start, in the order ``_longest`` tries them: (length, rest, concepts).
_Start = tuple[int, tuple[int, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Starts:
    """The phrases a set of pattern ids may start; ``single`` when all are one word long."""

    phrases: tuple[_Start, ...]
    single: tuple[int, tuple[str, ...]] | None
    negatable: bool  # ``single`` has a concept a negation turns into ``st:halted``


@dataclass(slots=True)
class Vocabulary:
    """Compiled concept tables; build with ``Vocabulary.build`` or ``default_vocabulary``."""

    _pattern_ids: dict[_Pattern, int] = field(default_factory=dict)
    _exact: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _prefixes: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _forms: dict[tuple[bool, str], list[int]] = field(default_factory=dict)
    _prefix_lengths: list[int] = field(default_factory=list)
    _phrases: dict[int, list[_Phrase]] = field(default_factory=dict)
    _negations: frozenset[str] = frozenset()
    _stopwords: frozenset[str] = frozenset()
    _starts: dict[frozenset[int], _Starts] = field(default_factory=dict)
    _kinds: dict[str, frozenset[str]] = field(default_factory=dict)
    _lexemes: Memo[str, Lexeme] = field(init=False)

    def __post_init__(self) -> None:
        self._lexemes = Memo(self._lexeme, _CACHE_LIMIT)

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[str, Sequence[str]]],
        *,
        negations: str = NEGATIONS,
        stopwords: str = STOPWORDS,
    ) -> Vocabulary:
        vocabulary = cls()
        for concept, patterns in rows:
            for pattern in patterns:
                vocabulary._add_phrase(concept, pattern)
        for phrases in vocabulary._phrases.values():
            phrases.sort(key=lambda phrase: -len(phrase.rest))
        vocabulary._prefix_lengths = sorted({len(text) for _, text in vocabulary._prefixes})
        vocabulary._negations = _keys(negations)
        vocabulary._stopwords = _keys(stopwords)
        return vocabulary

    def is_stopword(self, key: str) -> bool:
        return key in self._stopwords

    def concepts(self, tokens: Sequence[Token], text: str) -> list[ConceptMatch]:
        """Concept matches in ``tokens``, left to right, longest phrase first."""
        lexemes = self._lexemes
        found = self.match([lexemes[text[token.start : token.end]] for token in tokens])
        return [ConceptMatch(*match) for match in found]

    def kind(self, kind: str) -> frozenset[str]:
        """Every concept of ``kind`` (``st``, ``place`` …) that ``match`` may return.

        Sorting a text's concepts by kind is then a set intersection (``features``).
        """
        concepts = self._kinds.get(kind)
        if concepts is None:
            every = {c for phrases in self._phrases.values() for p in phrases for c in p.concepts}
            every.add(_HALTED)
            prefix = f"{kind}:"
            concepts = self._kinds[kind] = frozenset(c for c in every if c.startswith(prefix))
        return concepts

    def lexemes(self, words: Iterable[str]) -> list[Lexeme]:
        """The ``Lexeme`` of each word as written (words of ``split_words``), in order."""
        return list(map(self._lexemes.__getitem__, words))

    def match(self, lexemes: Sequence[Lexeme]) -> list[Found]:
        """``concepts`` of one text's tokens given as lexemes, as plain tuples (a hot path)."""
        matches = []
        end = 0
        starts_at = list(map(_STARTS, lexemes))
        for index in compress(range(len(starts_at)), starts_at):
            if index < end:
                continue
            starts = starts_at[index]
            assert starts is not None
            single = starts.single
            if single is not None:
                length, concepts = single
                negatable = starts.negatable
            else:
                length, concepts = _longest(lexemes, index, starts.phrases)
                if not length:
                    continue
                negatable = not _NEGATABLE.isdisjoint(concepts)
            if negatable and self._negated(lexemes, index):
                concepts = tuple(_HALTED if c in _NEGATABLE else c for c in concepts)
            matches.append((index, length, concepts))
            end = index + length
        return matches

    def _starts_of(self, ids: frozenset[int]) -> _Starts:
        starts = self._starts.get(ids)
        if starts is None:
            phrases = tuple(
                (len(phrase.rest) + 1, phrase.rest, phrase.concepts)
                for pattern_id in sorted(ids)
                for phrase in self._phrases.get(pattern_id, ())
            )
            single = None
            if phrases and all(length == 1 for length, _, _ in phrases):
                single = (1, tuple(dict.fromkeys(c for _, _, cs in phrases for c in cs)))
            negatable = single is not None and not _NEGATABLE.isdisjoint(single[1])
            starts = self._starts[ids] = _Starts(phrases, single, negatable)
        return starts

    def _negated(self, lexemes: Sequence[Lexeme], index: int) -> bool:
        before = lexemes[max(0, index - _NEGATION_REACH) : index]
        return any(lexeme.key in self._negations for lexeme in before)

    def _lexeme(self, word: str) -> Lexeme:
        key, form = analyze_word(word)
        ids = self._ids(key, form, cyrillic="\u0400" <= word[:1] <= "\u04ff")
        return Lexeme(
            key=key,
            form=form,
            content="" if key in self._stopwords or key.isdigit() else key,
            ids=ids,
            starts=self._starts_of(ids) if ids else None,
            capitalized=word[:1].isupper(),
            acronym=len(word) > 1 and word.isupper(),
        )

    def _ids(self, key: str, form: str, *, cyrillic: bool) -> frozenset[int]:
        ids = set(self._exact.get((cyrillic, key), ()))
        ids.update(self._forms.get((cyrillic, form), ()))
        for length in self._prefix_lengths:
            if length > len(form):
                break
            ids.update(self._prefixes.get((cyrillic, form[:length]), ()))
        return frozenset(ids)

    def _add_phrase(self, concept: str, pattern: str) -> None:
        parts = [part_id for part in pattern.split("+") for part_id in self._part_ids(part)]
        if not parts:
            return
        first, *rest = parts
        phrases = self._phrases.setdefault(first, [])
        for phrase in phrases:
            if phrase.rest == tuple(rest):
                if concept not in phrase.concepts:
                    phrase.concepts += (concept,)
                return
        phrases.append(_Phrase(tuple(rest), (concept,)))

    def _part_ids(self, word: str) -> list[int]:
        """Pattern ids of one part; a part the normalizer splits (Ivano-Frankivsk) is a phrase."""
        cyrillic = any("\u0400" <= char <= "\u04ff" for char in word)
        if word.endswith("*"):
            *exact, last = normalize_prefix(word[:-1]) or ("",)
            texts = [(".", form) for form in exact] + [("*", last)]
        elif word.endswith("."):
            texts = [(".", form) for form in normalize_prefix(word[:-1])]
        else:
            texts = [("=", key) for key in normalize_term(word)]
        return [self._pattern_id(cyrillic, kind, text) for kind, text in texts if text]

    def _pattern_id(self, cyrillic: bool, kind: str, text: str) -> int:
        pattern = (cyrillic, kind, text)
        pattern_id = self._pattern_ids.setdefault(pattern, len(self._pattern_ids))
        table = {"*": self._prefixes, ".": self._forms, "=": self._exact}[kind]
        ids = table.setdefault((cyrillic, text), [])
        if pattern_id not in ids:
            ids.append(pattern_id)
        return pattern_id


def _longest(
    lexemes: Sequence[Lexeme], index: int, phrases: tuple[_Start, ...]
) -> tuple[int, tuple[str, ...]]:
    """The longest of ``phrases`` found at ``index`` and its concepts (those of every such one)."""
    best_length = 0
    found: list[str] = []
    count = len(lexemes)
    following = lexemes[index + 1].ids if index + 1 < count else frozenset()
    for length, rest, concepts in phrases:
        if length < best_length or index + length > count:
            continue
        if length > 1 and rest[0] not in following:
            continue  # most phrases fail on their second word: checked without a generator
        if length > 2 and not all(
            part in lexemes[index + 2 + j].ids for j, part in enumerate(rest[1:])
        ):
            continue
        if length > best_length:
            best_length, found = length, []
        found.extend(c for c in concepts if c not in found)
    return best_length, tuple(found)


def _keys(words: str) -> frozenset[str]:
    return frozenset(key for word in words.split() if word != "|" for key in normalize_term(word))


def place_rows(places: Mapping[str, Sequence[str]]) -> list[tuple[str, tuple[str, ...]]]:
    """Gazetteer entries as concept rows: ``country:`` for countries, ``place:`` otherwise.

    Spellings may be written as the shared gazetteer writes them (words separated by spaces) or
    as ``lexicon`` does (``+``). An oblast counts as its city (``kyiv-oblast`` → ``place:kyiv``):
    "Kyiv region" and "Kyiv" must not read as two different places.
    """
    rows = []
    for alias, spellings in places.items():
        name = alias.removesuffix("-oblast")
        kind = "country" if name in COUNTRIES else "place"
        rows.append((f"{kind}:{name}", tuple(spelling.replace(" ", "+") for spelling in spellings)))
    return rows


def merged_places(shared: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The shared gazetteer, plus the built-in places it does not have."""
    places = {alias: tuple(names) for alias, names in shared.items()}
    for alias, names in BUILTIN_PLACES.items():
        places.setdefault(alias, names)
    return places


def build_vocabulary(places: Mapping[str, Sequence[str]] | None = None) -> Vocabulary:
    """The concept tables with ``places`` (default: the built-in list) as the gazetteer."""
    rows = [
        *parse_table(CONCEPT_TABLE),
        *parse_table(ORGANISATION_TABLE),
        *place_rows(BUILTIN_PLACES if places is None else places),
    ]
    return Vocabulary.build(rows)


_DEFAULT: Vocabulary | None = None


def default_vocabulary() -> Vocabulary:
    """The built-in tables with the bundled gazetteer (``config/places.toml``), compiled once."""
    global _DEFAULT
    if _DEFAULT is None:
        path = bundled_config_dir() / "places.toml"
        places = merged_places(load_places(path)) if path.is_file() else BUILTIN_PLACES
        _DEFAULT = build_vocabulary(places)
    return _DEFAULT
