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
is in C (``map``, ``compress``) except for concepts and capitalized words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter

from bot.match.normalize import normalize_prefix, split_words
from bot.model import Item
from bot.stories.vocabulary import Found, Vocabulary, default_vocabulary

__all__ = ["LEAD_WORDS", "StoryFeatures", "extract_features"]

LEAD_WORDS = 60
TITLE_CASE_SHARE = 0.6  # share of capitalized words that makes a title Title Case
NAME_PREFIX = 7

# 45, 1,200 and 1 200 are one number each; 4.5 gives its whole part; a year is not a quantity.
# The leading lookahead changes no match; it lets the scan pass over non-digits 2.5× faster.
_NUMBER_RE = re.compile(
    r"(?=\d)(?:(?<![\w.,])\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?![\w,]\d)|(?<![\w.,])\d+)"
)
_SEPARATORS = dict.fromkeys(map(ord, ",\u00a0\u202f "))
_SENTENCE_END = ".!?:;…\n—–"
_OPENERS = " \t\"'«“„("  # what may stand between a sentence's end and its next word
_YEARS = range(1900, 2100)
_KEY = attrgetter("key")
_CONTENT = attrgetter("content")
_CAPITALIZED = attrgetter("capitalized")
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
    lexical: set[str] = set()
    neutral: set[str] = set()
    states: set[str] = set()
    title_case = _is_title_case(item.title)
    for text, is_title in ((item.title, True), (_lead(item.summary), False)):
        _read_text(vocabulary, text, not (is_title and title_case), lexical, neutral, states)
        neutral.update(f"num:{n}" for n in _numbers(text))
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


def _read_text(
    vocabulary: Vocabulary,
    text: str,
    names: bool,
    lexical: set[str],
    neutral: set[str],
    states: set[str],
) -> None:
    """Add the content words, concepts and (if ``names``) names of one text to the sets."""
    parts = split_words(text)
    lexemes = vocabulary.lexemes(parts[1::2])
    gaps = parts[0::2]  # gaps[i]: what lies before word i
    if all(map(_KEY, lexemes)):  # a word with an empty key is not a token (rare)
        tokens, positions = lexemes, None
    else:
        positions = [i for i, lexeme in enumerate(lexemes) if lexeme.key]
        tokens = [lexemes[i] for i in positions]
    consumed = _add_concepts(vocabulary.match(tokens), neutral, states)
    contents = list(map(_CONTENT, tokens))
    for index in consumed:
        contents[index] = ""
    lexical.update(contents)
    lexical.discard("")
    if names:
        for index in compress(range(len(tokens)), map(_CAPITALIZED, tokens)):
            token = tokens[index]
            if not contents[index]:
                continue
            word = index if positions is None else positions[index]
            if token.acronym or _inside_sentence(gaps, word):
                kind = "place" if index and tokens[index - 1].form in _LOCATIVES else "name"
                neutral.add(f"{kind}:{token.key[:NAME_PREFIX]}")


def _add_concepts(matches: list[Found], neutral: set[str], states: set[str]) -> set[int]:
    """Add the concepts found to ``neutral`` (states to ``states``); return the used indexes."""
    consumed: set[int] = set()
    for index, length, concepts in matches:
        consumed.update(range(index, index + length))
        for concept in concepts:
            (states if concept.startswith("st:") else neutral).add(concept)
    return consumed


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
    words = [word for word in title.split() if word[:1].isalpha()]
    if len(words) < 4:
        return False
    capitalized = sum(1 for word in words if word[0].isupper())
    return capitalized >= TITLE_CASE_SHARE * len(words)
