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
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.match.normalize import Token, normalize_prefix, normalize_text
from bot.model import Item
from bot.stories.vocabulary import Vocabulary, default_vocabulary

__all__ = ["LEAD_WORDS", "StoryFeatures", "extract_features"]

LEAD_WORDS = 60
TITLE_CASE_SHARE = 0.6  # share of capitalized words that makes a title Title Case
NAME_PREFIX = 7

# 45, 1,200 and 1 200 are one number each; 4.5 gives its whole part; a year is not a quantity.
_NUMBER_RE = re.compile(r"(?<![\w.,])\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?![\w,]\d)|(?<![\w.,])\d+")
_SENTENCE_END = ".!?:;…\n—–"
_YEARS = range(1900, 2100)
_WORD_RE = re.compile(r"\S+")
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
    lead = _lead(item.summary)
    lexical: set[str] = set()
    neutral: set[str] = set()
    states: set[str] = set()
    title_case = _is_title_case(item.title)
    for text, is_title in ((item.title, True), (lead, False)):
        tokens = normalize_text(text)
        consumed = _add_concepts(vocabulary, tokens, text, neutral, states)
        for index, token in enumerate(tokens):
            if index in consumed or vocabulary.is_stopword(token.key) or token.key.isdigit():
                continue
            lexical.add(token.key)
            if not (is_title and title_case) and _is_name(tokens, index, text):
                kind = "place" if index and tokens[index - 1].form in _LOCATIVES else "name"
                neutral.add(f"{kind}:{token.key[:NAME_PREFIX]}")
        numbers = {f"num:{n}" for n in _numbers(text)}
        neutral |= numbers
    lexical |= neutral
    return StoryFeatures(
        lexical=frozenset(lexical),
        neutral=frozenset(neutral),
        numbers=_frozen(t for t in neutral if t.startswith("num:")),
        places=_frozen(t for t in neutral if t.startswith("place:")),
        states=_frozen(states),
        days=_frozen(t for t in neutral if t.startswith("day:")),
    )


_EMPTY: frozenset[str] = frozenset()


def _frozen(tokens: Iterable[str]) -> frozenset[str]:
    """A frozenset, sharing one empty set: most items have no days or states (memory)."""
    return frozenset(tokens) or _EMPTY


def _add_concepts(
    vocabulary: Vocabulary, tokens: list[Token], text: str, neutral: set[str], states: set[str]
) -> set[int]:
    """Add the concepts of ``tokens`` to ``neutral`` (states to ``states``); return used indexes."""
    consumed: set[int] = set()
    for match in vocabulary.concepts(tokens, text):
        consumed.update(range(match.index, match.index + match.length))
        for concept in match.concepts:
            (states if concept.startswith("st:") else neutral).add(concept)
    return consumed


def _lead(summary: str) -> str:
    words = _WORD_RE.findall(summary)
    return " ".join(words[:LEAD_WORDS])


def _numbers(text: str) -> list[str]:
    numbers = []
    for match in _NUMBER_RE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        value = int(digits)
        if value and value not in _YEARS:
            numbers.append(str(value))
    return numbers


def _is_title_case(title: str) -> bool:
    words = [word for word in title.split() if word[:1].isalpha()]
    if len(words) < 4:
        return False
    capitalized = sum(1 for word in words if word[0].isupper())
    return capitalized >= TITLE_CASE_SHARE * len(words)


def _is_name(tokens: list[Token], index: int, text: str) -> bool:
    token = tokens[index]
    word = text[token.start : token.end]
    if not word[:1].isupper():
        return False
    if len(word) > 1 and word.isupper():
        return True  # an acronym: GCHQ, НПЗ
    before = text[: token.start].rstrip(" \t\"'«“„(")
    return bool(before) and before[-1] not in _SENTENCE_END
