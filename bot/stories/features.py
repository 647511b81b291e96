"""What the story clusterer knows about one item: two token sets and a few distinguishing facts.

Contract: ``extract_features(item)`` reads the title and the lead (the first ``LEAD_WORDS`` words
of the summary) and returns ``StoryFeatures``:

- ``lexical``: the match keys of every content word (stopwords dropped) plus the concept tokens,
  the set a near-duplicate test compares (MinHash in ``minhash``);
- ``neutral``: only what reads the same in any language: concepts (``ev:`` ``org:`` ``place:``
  ``country:`` ``day:``), numbers (``num:45``; "five", "п'ятеро" and "5" meet) and names
  (``name:vereshchuk``: capitalized words that are neither concepts nor stopwords, which the
  shared normalization spells alike in every script);
- ``numbers``, ``places`` (cities and regions, not countries), ``states`` (``st:*``) and ``days``:
  the facts that tell two similar stories apart.

Order: normalize each field (``bot.match.normalize``), find concepts (``vocabulary``), read
numerals from the raw text, then classify the remaining words. A capitalized word opening the
title or a sentence is a name only if it is an acronym (sentence openers are mostly ordinary
words: taking them cost 5 points of precision and 1 of recall on the data set); a title in
Title Case gives no names. A name right after a locative preposition (in, near, from, у, в,
біля, під, из …) is taken for a place the gazetteer lacks (``place:``), so two towns it does not
know still count as different places. Names compare on their first ``NAME_PREFIX`` letters, since
transliterations differ most in their endings (Industrialnyi / Индустриального).

Speed: a text is cut once (``split_words``: words and the gaps between them, which is all the
name rule needs of the context), and each word is read through the vocabulary's per-word cache
(``Vocabulary.lexemes``: key, form, concept ids, stopword, capitals), so the per-word work left
is in C (``map``, ``compress``) except for concepts and capitalized words. Concepts are gathered
as found and sorted into states, numbers, places and days once per item, by intersection with
the vocabulary's concepts of each kind (``Vocabulary.kind``), not by a prefix test per token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter, itemgetter

from bot.match.normalize import normalize_prefix, split_words
from bot.model import Item
from bot.stories.vocabulary import Lexeme, Vocabulary, default_vocabulary

__all__ = ["LEAD_WORDS", "StoryFeatures", "extract_features"]

LEAD_WORDS = 60
TITLE_CASE_SHARE = 0.6  # share of capitalized words that makes a title Title Case
NAME_PREFIX = 7

# 45, 1,200 and 1 200 are one number each; 4.5 gives its whole part; a year is not a quantity.
# The pattern opens with the first digit itself (the lookbehind, two wide, then looks at what
# precedes it), which lets the regex engine skip ahead to the next digit: the same matches as
# ``(?=\d)(?:(?<![\w.,])\d{1,3}(?:…)+(?!…)|(?<![\w.,])\d+)``, 1.7× faster (checked on 390,000
# texts), and that leading lookahead was itself 2.5× faster than none.
_NUMBER_RE = re.compile(r"\d(?<![\w.,]\d)(?:\d{0,2}(?:[,\u00a0\u202f ]\d{3})+(?![\w,]\d)|\d*)")
_SEPARATORS = dict.fromkeys(map(ord, ",\u00a0\u202f "))
_SENTENCE_END = ".!?:;…\n—–"
_OPENERS = " \t\"'«“„("  # what may stand between a sentence's end and its next word
_YEARS = range(1900, 2100)
_KEY = attrgetter("key")
_CONTENT = attrgetter("content")
_CAPITALIZED = attrgetter("capitalized")
_CONCEPTS = itemgetter(2)  # of a ``Vocabulary.match`` result
_LOCATIVE_WORDS = "in near from у в біля під із до поблизу во под из около возле"
_LOCATIVES = frozenset(form for word in _LOCATIVE_WORDS.split() for form in normalize_prefix(word))


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    lexical: frozenset[str]
    neutral: frozenset[str]
    numbers: frozenset[str]
    places: frozenset[str]
    states: frozenset[str]
    days: frozenset[str]


def extract_features(item: Item, vocabulary: Vocabulary | None = None) -> StoryFeatures:
    vocabulary = vocabulary or default_vocabulary()
    found = _Found()
    title_case = _is_title_case(item.title)
    for text, is_title in ((item.title, True), (_lead(item.summary), False)):
        _read_text(vocabulary, text, not (is_title and title_case), found)
        found.numbers.update([f"num:{number}" for number in _numbers(text)])
    concepts = found.concepts
    states = concepts & vocabulary.kind("st")
    neutral = frozenset((concepts - states if states else concepts) | found.names | found.numbers)
    found.lexical |= neutral
    return StoryFeatures(
        lexical=frozenset(found.lexical),
        neutral=neutral,
        numbers=_frozen((concepts & vocabulary.kind("num")) | found.numbers),
        places=_frozen((concepts & vocabulary.kind("place")) | found.places),
        states=_frozen(states),
        days=_frozen(concepts & vocabulary.kind("day")),
    )


_EMPTY: frozenset[str] = frozenset()


def _frozen(tokens: set[str]) -> frozenset[str]:
    """A frozenset, sharing one empty set: most items have no days or states (memory)."""
    return frozenset(tokens) if tokens else _EMPTY


@dataclass(slots=True)
class _Found:
    """The tokens of one item while its texts are read.

    Concepts are collected as found (one ``set.update`` per text) and sorted into states and
    facts at the end, by intersection with the vocabulary's concepts of each kind: a few C calls
    instead of a Python step per concept (an item has ~17) or a prefix filter per kind.
    """

    lexical: set[str] = field(default_factory=set)  # content words
    concepts: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)  # ``name:`` and ``place:`` tokens of names
    places: set[str] = field(default_factory=set)  # the ``place:`` ones of ``names``
    numbers: set[str] = field(default_factory=set)  # ``num:`` tokens of numerals


def _read_text(vocabulary: Vocabulary, text: str, names: bool, found: _Found) -> None:
    """Add the content words, concepts and (if ``names``) names of one text to ``found``."""
    parts = split_words(text)
    lexemes = vocabulary.lexemes(parts[1::2])
    if all(map(_KEY, lexemes)):  # a word with an empty key is not a token (rare)
        tokens, positions = lexemes, None
    else:
        positions = [i for i, lexeme in enumerate(lexemes) if lexeme.key]
        tokens = [lexemes[i] for i in positions]
    contents = list(map(_CONTENT, tokens))
    matches = vocabulary.match(tokens)
    for index, length, _ in matches:  # a matched word is no content word
        if length == 1:
            contents[index] = ""
        else:
            contents[index : index + length] = [""] * length
    found.concepts.update(*map(_CONCEPTS, matches))
    found.lexical.update(contents)
    found.lexical.discard("")
    if names:
        _add_names(tokens, positions, contents, parts[0::2], found)


def _add_names(
    tokens: list[Lexeme],
    positions: list[int] | None,
    contents: list[str],
    gaps: list[str],
    found: _Found,
) -> None:
    """Add the capitalized content words that are names (see the module docstring).

    ``gaps[i]`` is what lies before word ``i``; ``positions`` maps a token to its word (``None``:
    every word is a token).
    """
    for index in compress(range(len(tokens)), map(_CAPITALIZED, tokens)):
        if not contents[index]:
            continue
        token = tokens[index]
        word = index if positions is None else positions[index]
        if token.acronym or _inside_sentence(gaps, word):
            kind = "place" if index and tokens[index - 1].form in _LOCATIVES else "name"
            name = f"{kind}:{token.key[:NAME_PREFIX]}"
            found.names.add(name)
            if kind == "place":
                found.places.add(name)


def _inside_sentence(gaps: list[str], word: int) -> bool:
    """Whether word number ``word`` follows other text of its sentence (quotes do not count)."""
    before = gaps[word].rstrip(_OPENERS)
    if before:
        return before[-1] not in _SENTENCE_END
    return word > 0  # right after another word: a word never ends a sentence


def _lead(summary: str) -> str:
    return " ".join(summary.split(None, LEAD_WORDS)[:LEAD_WORDS])


def _numbers(text: str) -> list[str]:
    numbers = []
    for match in _NUMBER_RE.findall(text):
        value = int(match.translate(_SEPARATORS))
        if value and value not in _YEARS:
            numbers.append(str(value))
    return numbers


def _is_title_case(title: str) -> bool:
    """Whether most words that start with a letter start with a capital."""
    initials = list(filter(str.isalpha, [word[0] for word in title.split()]))
    if len(initials) < 4:
        return False
    return sum(map(str.isupper, initials)) >= TITLE_CASE_SHARE * len(initials)
