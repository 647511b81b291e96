"""Summarize: a short, extractive, query-focused summary of one report or of a whole story.

``summarize(item, match)`` summarizes one report; ``summarize_story(reports)`` every report of one
story (the first is the one whose title the alert shows). Contract, in order:

1. Source: each report's summary; when it is empty, its title.
2. Split each source into sentences (``bot.sentences``), keeping their offsets.
3. Drop a sentence that near-duplicates the shown title (except when that title is the source).
   Near-duplicate, over content-word match keys (``normalize_text``, stopwords left out): at least
   ``CONTAINED`` of the sentence's keys are in the other text, or their Jaccard similarity is at
   least ``DUPLICATE_JACCARD``.
4. The trigger is the sentence with the most distinct matched terms (``Match.hits`` on its field,
   by character offset); ties go to the earlier sentence, then the earlier report. No hit, no
   trigger.
5. Score each sentence: 1 per distinct matched term, ``PLACE_WEIGHT`` per distinct named place
   (at most ``MAX_PLACES``), ``LEAD_BONUS`` for the first sentence of a report. Places are the
   cities and regions the story vocabulary finds (``bot.stories.vocabulary``: the shared
   ``config/places.toml`` plus built-in places, every spelling and case); countries are the
   setting of most stories and add nothing.
6. Choose the trigger, then the rest best first (ties: earlier), at most ``max_sentences`` and
   ``max_chars`` (joined by a space), skipping a sentence that near-duplicates one already chosen.
   A sentence that does not fit is skipped for a later one; once something is chosen, the first
   zero-score sentence that does not fit ends the choice, so fillers stay contiguous.
7. Print the trigger first, then the others in document order (report, then sentence).
8. Only complete sentences are printed, except as a last resort: when no sentence fits at all,
   the trigger (else the best sentence) is cut at a word boundary and ends with "…". The result
   never exceeds ``max_chars``; it is empty when the sources only repeat the title.

Cost: each source is split into sentences and each sentence tokenized once, straight into the
story vocabulary's cached lexemes (keys, places and near-duplicates share them; no token offsets
are needed, see ``_read``). With the default vocabulary, a summary is remembered for the last
``CACHE_SIZE`` calls, since routing asks for the same item and match once per subscribed chat,
and so are the last sources and titles read, since it asks for the same item once per topic it
matched. Measured on the ingest bench's items (4,252 matches of en/uk/ru items of ~440
characters; CPU time): about 70 µs a call with nothing remembered, about 60–65 µs as the bench
calls it (about 125 µs before either way).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import accumulate, chain
from operator import attrgetter
from typing import NamedTuple

from bot.match.normalize import split_words
from bot.model import Item, Match
from bot.sentences import split_sentences
from bot.stories.vocabulary import Lexeme, Vocabulary, default_vocabulary

__all__ = ["Report", "split_sentences", "summarize", "summarize_story"]

LEAD_BONUS = 0.75
PLACE_WEIGHT = 0.5
MAX_PLACES = 2
CONTAINED = 0.8
DUPLICATE_JACCARD = 0.6
ELLIPSIS = "…"
CACHE_SIZE = 128

Report = tuple[Item, Match | None]

_KEY = attrgetter("key")
_HITS = attrgetter("hits")
_SCORE = attrgetter("score")


class _Sentence(NamedTuple):
    """A candidate sentence (a tuple: made by the dozen on every call)."""

    text: str
    order: tuple[int, int]  # (report, sentence): document order across the story
    hits: int  # distinct matched terms
    score: float
    keys: frozenset[str]  # content-word match keys, for near-duplicate tests


@dataclass(frozen=True, slots=True)
class _Source:
    """One source read sentence by sentence: all its summary needs but where the hits are."""

    spans: Sequence[tuple[int, int]]
    texts: Sequence[str]  # whitespace collapsed
    keys: Sequence[frozenset[str]]  # content-word match keys
    place_scores: Sequence[float]  # PLACE_WEIGHT per distinct place, at most MAX_PLACES


class _Reader(NamedTuple):
    """How a summary reads its sources and its shown title (``_read``, ``_title_keys``)."""

    source: Callable[[str], _Source]
    title_keys: Callable[[str], frozenset[str]]


def summarize(
    item: Item,
    match: Match | None = None,
    *,
    max_chars: int = 400,
    max_sentences: int = 3,
    vocabulary: Vocabulary | None = None,
) -> str:
    """A few sentences of ``item`` that best show why it matched, at most ``max_chars`` long."""
    return summarize_story(
        [(item, match)], max_chars=max_chars, max_sentences=max_sentences, vocabulary=vocabulary
    )


def summarize_story(
    reports: Sequence[Report],
    *,
    max_chars: int = 400,
    max_sentences: int = 3,
    vocabulary: Vocabulary | None = None,
) -> str:
    """One summary of several reports of a story, never showing the same fact twice."""
    if vocabulary is None:
        return _with_default_vocabulary(tuple(reports), max_chars, max_sentences)
    reader = _Reader(
        partial(_read, vocabulary=vocabulary), partial(_title_keys, vocabulary=vocabulary)
    )
    return _summary(reports, max_chars, max_sentences, reader)


@lru_cache(maxsize=CACHE_SIZE)
def _with_default_vocabulary(
    reports: tuple[Report, ...], max_chars: int, max_sentences: int
) -> str:
    """The same summary is asked for once per subscribed chat: work it out once."""
    return _summary(reports, max_chars, max_sentences, _DEFAULT_READER)


def _summary(reports: Sequence[Report], max_chars: int, max_sentences: int, reader: _Reader) -> str:
    if not reports or max_chars <= 0 or max_sentences <= 0:
        return ""
    candidates = _candidates(reports, reader)
    if not candidates:
        return ""
    trigger = _trigger(candidates)
    chosen = _choose(candidates, trigger, max_chars, max_sentences)
    if not chosen:
        return _truncate((trigger or _ranked(candidates)[0]).text, max_chars)
    return " ".join(sentence.text for sentence in _summary_order(chosen, trigger))


def _candidates(reports: Sequence[Report], reader: _Reader) -> list[_Sentence]:
    """Every sentence of every report, less those that say what the shown title says."""
    title_keys = reader.title_keys(reports[0][0].title)
    candidates = []
    for number, (item, match) in enumerate(reports):
        field, source = ("summary", item.summary) if item.summary.strip() else ("title", item.title)
        title_is_source = number == 0 and field == "title"
        for sentence in _sentences(number, reader.source(source), field, match):
            if title_is_source or not _near_duplicate(sentence.keys, title_keys):
                candidates.append(sentence)
    return candidates


def _sentences(report: int, source: _Source, field: str, match: Match | None) -> list[_Sentence]:
    """The scored sentences of one source."""
    terms = _hit_terms(source.spans, match, field)
    sentences = []
    for index, text in enumerate(source.texts):
        score = len(terms[index]) + source.place_scores[index]
        if index == 0:
            score += LEAD_BONUS
        sentences.append(
            _Sentence(text, (report, index), len(terms[index]), score, source.keys[index])
        )
    return sentences


def _read(source: str, vocabulary: Vocabulary) -> _Source:
    """The sentences of ``source``, tokenized once for keys and places together.

    Each sentence is tokenized on its own: the spans hold every word of the source, whole and
    in order (``bot.sentences``), so their tokens, run together, are the source's tokens, and
    no token needs an offset to find its sentence.
    """
    spans = split_sentences(source)
    texts = [" ".join(source[start:end].split()) for start, end in spans]
    tokens = [_tokens(text, vocabulary) for text in texts]
    keys = [_content_keys(sentence, vocabulary) for sentence in tokens]
    return _Source(spans, texts, keys, _place_scores(tokens, vocabulary))


def _title_keys(title: str, vocabulary: Vocabulary) -> frozenset[str]:
    """The content keys of the shown title, for near-duplicate tests."""
    return _content_keys(_tokens(title, vocabulary), vocabulary)


def _tokens(text: str, vocabulary: Vocabulary) -> list[Lexeme]:
    """The tokens of ``text`` (``normalize_text``'s: words with a match key), as lexemes."""
    return list(filter(_KEY, vocabulary.lexemes(split_words(text)[1::2])))


def _content_keys(tokens: Sequence[Lexeme], vocabulary: Vocabulary) -> frozenset[str]:
    """The match keys of ``tokens`` less stopwords, for near-duplicate tests."""
    return frozenset(key for key in map(_KEY, tokens) if not vocabulary.is_stopword(key))


def _place_scores(sentences: Sequence[Sequence[Lexeme]], vocabulary: Vocabulary) -> list[float]:
    """Per sentence, ``PLACE_WEIGHT`` per distinct place the story vocabulary finds in it (at
    most ``MAX_PLACES``).

    The vocabulary reads the whole source at once, as phrases may run on past a sentence end; a
    place counts for the sentence where its phrase starts.
    """
    ends = list(accumulate(map(len, sentences)))
    places: list[set[str]] = [set() for _ in sentences]
    for index, _, concepts in vocabulary.match(list(chain.from_iterable(sentences))):
        names = _place_names(concepts)
        if names:
            places[bisect_right(ends, index)].update(names)
    return [PLACE_WEIGHT * min(len(names), MAX_PLACES) for names in places]


@lru_cache(maxsize=4096)
def _place_names(concepts: tuple[str, ...]) -> tuple[str, ...]:
    """The places among a match's concepts: the vocabulary hands the same few tuples out again."""
    return tuple(concept for concept in concepts if concept.startswith("place:"))


@lru_cache(maxsize=CACHE_SIZE)
def _read_with_default(source: str) -> _Source:
    return _read(source, default_vocabulary())


@lru_cache(maxsize=CACHE_SIZE)
def _title_keys_with_default(title: str) -> frozenset[str]:
    return _title_keys(title, default_vocabulary())


# Routing summarizes an item once per topic it matched, and only the hits differ from one to the
# next: with the default vocabulary, the last sources and titles read are remembered.
_DEFAULT_READER = _Reader(_read_with_default, _title_keys_with_default)


def _hit_terms(spans: Sequence[tuple[int, int]], match: Match | None, field: str) -> list[set[str]]:
    """Per sentence, the distinct matched terms whose hits start inside it."""
    terms: list[set[str]] = [set() for _ in spans]
    if match is None:
        return terms
    starts = [start for start, _ in spans]
    for hit in match.hits:
        if hit.field == field:
            index = bisect_right(starts, hit.start) - 1
            if index >= 0 and hit.start < spans[index][1]:
                terms[index].add(hit.term)
    return terms


def _near_duplicate(keys: frozenset[str], other: frozenset[str]) -> bool:
    """Whether a sentence with ``keys`` adds little to a text with ``other``: mostly inside it,
    or mostly the same words."""
    if not keys or not other:
        return False
    shared = len(keys & other)
    union = len(keys) + len(other) - shared  # len(keys | other), without building it
    return shared >= CONTAINED * len(keys) or shared >= DUPLICATE_JACCARD * union


def _trigger(candidates: Sequence[_Sentence]) -> _Sentence | None:
    """The sentence that made the item match: most distinct terms, the earlier on a tie.

    Candidates come in document order, and ``max`` keeps the first of equals.
    """
    best = max(candidates, key=_HITS)
    return best if best.hits else None


def _ranked(candidates: Sequence[_Sentence]) -> list[_Sentence]:
    """Best score first, the earlier on a tie: candidates come in document order, and a sort,
    reversed or not, keeps equals in order."""
    return sorted(candidates, key=_SCORE, reverse=True)


def _choose(
    candidates: Sequence[_Sentence],
    trigger: _Sentence | None,
    max_chars: int,
    max_sentences: int,
) -> list[_Sentence]:
    """The trigger, then the best sentences that fit and repeat nothing already chosen.

    A sentence that does not fit is skipped for a shorter one, so only whole sentences are
    chosen; once something is chosen, the first plain filler (score 0) that does not fit ends
    the choice, so fillers stay contiguous.
    """
    ranked = _ranked(candidates)
    if trigger is not None:
        ranked.remove(trigger)
        ranked.insert(0, trigger)
    chosen: list[_Sentence] = []
    length = 0
    for sentence in ranked:
        if len(chosen) == max_sentences:
            break
        if any(_near_duplicate(sentence.keys, other.keys) for other in chosen):
            continue
        cost = len(sentence.text) + (1 if chosen else 0)
        if length + cost <= max_chars:
            chosen.append(sentence)
            length += cost
        elif chosen and sentence.score == 0:
            break
    return chosen


def _summary_order(chosen: Sequence[_Sentence], trigger: _Sentence | None) -> list[_Sentence]:
    """The trigger first, so the alert opens with why it matched; the rest as the reports run."""
    rest = sorted((sentence for sentence in chosen if sentence != trigger), key=lambda s: s.order)
    return [trigger, *rest] if trigger is not None and trigger in chosen else rest


def _truncate(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters at a word boundary, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    cut = text[: limit - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    elif " " in text:
        return ELLIPSIS  # not even the first word fits
    else:
        cut = cut[:-1]  # one unbroken run (a URL, text without spaces): cut where it must
    return cut.rstrip(" ,;:–—-") + ELLIPSIS
