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

Cost: each source is normalized once (keys, places and near-duplicates share the tokens), and a
summary with the default vocabulary is remembered for the last ``CACHE_SIZE`` calls, since routing
asks for the same item and match once per subscribed chat.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.match.normalize import Token, normalize_text
from bot.model import Item, Match
from bot.sentences import split_sentences
from bot.stories.vocabulary import Vocabulary, default_vocabulary

__all__ = ["Report", "split_sentences", "summarize", "summarize_story"]

LEAD_BONUS = 0.75
PLACE_WEIGHT = 0.5
MAX_PLACES = 2
CONTAINED = 0.8
DUPLICATE_JACCARD = 0.6
ELLIPSIS = "…"
CACHE_SIZE = 128

Report = tuple[Item, Match | None]


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    order: tuple[int, int]  # (report, sentence): document order across the story
    hits: int  # distinct matched terms
    score: float
    keys: frozenset[str]  # content-word match keys, for near-duplicate tests


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
    return _summary(reports, max_chars, max_sentences, vocabulary)


@lru_cache(maxsize=CACHE_SIZE)
def _with_default_vocabulary(
    reports: tuple[Report, ...], max_chars: int, max_sentences: int
) -> str:
    """The same summary is asked for once per subscribed chat: work it out once."""
    return _summary(reports, max_chars, max_sentences, default_vocabulary())


def _summary(
    reports: Sequence[Report], max_chars: int, max_sentences: int, vocabulary: Vocabulary
) -> str:
    if not reports or max_chars <= 0 or max_sentences <= 0:
        return ""
    candidates = _candidates(reports, vocabulary)
    if not candidates:
        return ""
    trigger = _trigger(candidates)
    chosen = _choose(candidates, trigger, max_chars, max_sentences)
    if not chosen:
        return _truncate((trigger or _ranked(candidates)[0]).text, max_chars)
    return " ".join(sentence.text for sentence in _summary_order(chosen, trigger))


def _candidates(reports: Sequence[Report], vocabulary: Vocabulary) -> list[_Sentence]:
    """Every sentence of every report, less those that say what the shown title says."""
    title_keys = _content_keys(normalize_text(reports[0][0].title), vocabulary)
    candidates = []
    for number, (item, match) in enumerate(reports):
        field, source = ("summary", item.summary) if item.summary.strip() else ("title", item.title)
        title_is_source = number == 0 and field == "title"
        for sentence in _sentences(number, source, field, match, vocabulary):
            if title_is_source or not _near_duplicate(sentence.keys, title_keys):
                candidates.append(sentence)
    return candidates


def _sentences(
    report: int, source: str, field: str, match: Match | None, vocabulary: Vocabulary
) -> list[_Sentence]:
    """The scored sentences of one source, normalized once for keys and places together."""
    spans = split_sentences(source)
    tokens = normalize_text(source)
    keys, places = _keys_and_places(spans, tokens, source, vocabulary)
    terms = _hit_terms(spans, match, field)
    sentences = []
    for index, (start, end) in enumerate(spans):
        score = len(terms[index]) + PLACE_WEIGHT * min(len(places[index]), MAX_PLACES)
        if index == 0:
            score += LEAD_BONUS
        text = " ".join(source[start:end].split())
        sentences.append(
            _Sentence(text, (report, index), len(terms[index]), score, frozenset(keys[index]))
        )
    return sentences


def _keys_and_places(
    spans: Sequence[tuple[int, int]], tokens: Sequence[Token], source: str, vocabulary: Vocabulary
) -> tuple[list[set[str]], list[set[str]]]:
    """Per sentence: content-word keys, and the places the story vocabulary finds in it."""
    owners = _owners(spans, tokens)
    keys: list[set[str]] = [set() for _ in spans]
    places: list[set[str]] = [set() for _ in spans]
    for token, owner in zip(tokens, owners, strict=True):
        if owner is not None and token.key and not vocabulary.is_stopword(token.key):
            keys[owner].add(token.key)
    for found in vocabulary.concepts(tokens, source):
        owner = owners[found.index]
        if owner is not None:
            places[owner].update(c for c in found.concepts if c.startswith("place:"))
    return keys, places


def _owners(spans: Sequence[tuple[int, int]], tokens: Sequence[Token]) -> list[int | None]:
    """The sentence each token is in (``None`` between sentences); both come in text order."""
    owners: list[int | None] = []
    index = 0
    for token in tokens:
        while index < len(spans) and token.start >= spans[index][1]:
            index += 1
        inside = index < len(spans) and token.start >= spans[index][0]
        owners.append(index if inside else None)
    return owners


def _hit_terms(spans: Sequence[tuple[int, int]], match: Match | None, field: str) -> list[set[str]]:
    """Per sentence, the distinct matched terms whose hits start inside it."""
    terms: list[set[str]] = [set() for _ in spans]
    if match is None:
        return terms
    starts = [start for start, _ in spans]
    for hit in match.hits:
        index = _sentence_at(hit.start, spans, starts) if hit.field == field else None
        if index is not None:
            terms[index].add(hit.term)
    return terms


def _sentence_at(
    offset: int, spans: Sequence[tuple[int, int]], starts: Sequence[int]
) -> int | None:
    index = bisect_right(starts, offset) - 1
    return index if index >= 0 and offset < spans[index][1] else None


def _content_keys(tokens: Sequence[Token], vocabulary: Vocabulary) -> frozenset[str]:
    return frozenset(t.key for t in tokens if t.key and not vocabulary.is_stopword(t.key))


def _near_duplicate(keys: frozenset[str], other: frozenset[str]) -> bool:
    """Whether a sentence with ``keys`` adds little to a text with ``other``: mostly inside it,
    or mostly the same words."""
    if not keys or not other:
        return False
    shared = len(keys & other)
    return shared >= CONTAINED * len(keys) or shared >= DUPLICATE_JACCARD * len(keys | other)


def _trigger(candidates: Sequence[_Sentence]) -> _Sentence | None:
    """The sentence that made the item match: most distinct terms, the earlier on a tie."""
    best = min(candidates, key=lambda sentence: (-sentence.hits, sentence.order))
    return best if best.hits else None


def _ranked(candidates: Sequence[_Sentence]) -> list[_Sentence]:
    return sorted(candidates, key=lambda sentence: (-sentence.score, sentence.order))


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
