"""Summarize v1: a short, extractive, query-focused summary of one item.

Contract, in order:

1. Source: the item's summary; when it is empty, its title.
2. Split the source into sentences, keeping their offsets: a sentence ends at ``.``, ``!``, ``?``
   or ``…`` (with any closing quotes) followed by space and a sentence start, or at a blank line.
   Abbreviations (Mr., Gen., U.S., e.g., т.д., вул., ст.), initials (J. Biden), decimals (4.5) and
   a following lowercase word do not end a sentence.
3. Score each sentence by the distinct query terms whose hits (``Match.hits`` on that field, by
   character offset) fall inside it; the lead sentence gets a bonus, so it wins ties and fills in
   when no sentence has a hit.
4. Take sentences best first while they fit in ``max_chars`` (joined by a space) and
   ``max_sentences``, skipping one that repeats the title; print them in their original order.
   Sentences without hits fill in only in document order and stop at the first that does not fit.
5. If not even the best sentence fits, cut it at a word boundary and end it with "…". The result
   never exceeds ``max_chars``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.match.normalize import normalize_text
from bot.model import Item, Match

__all__ = ["split_sentences", "summarize"]

LEAD_BONUS = 0.75
TITLE_REPEAT = 0.8  # share of a sentence's words found in the title that makes it a repeat
ELLIPSIS = "…"

_BOUNDARY_RE = re.compile(r"[.!?…]+[\"'”»’)\]]*(?=\s)|\n\s*\n")
_ABBREVIATION_LIST = """
    mr mrs ms dr prof gen lt col sgt capt maj cmdr adm rep sen gov pres st jr sr rev fr
    vs etc approx fig vol pp ca cf jan feb mar apr jun jul aug sep sept oct nov dec
    т д п е г гг м вул ул обл р рр с пров ім им тис тыс млн млрд грн руб км див см проф акад
    пл просп пр ст о ген полк напр др тт
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_DOTTED_RE = re.compile(r"(?:\b\w\.){2,}$")  # U.S., e.g., т.д.
_LAST_WORD_RE = re.compile(r"(\w+)\.$")


def summarize(
    item: Item, match: Match | None = None, *, max_chars: int = 400, max_sentences: int = 3
) -> str:
    """A few sentences of ``item`` that best show why it matched, at most ``max_chars`` long."""
    field, source = ("summary", item.summary) if item.summary.strip() else ("title", item.title)
    spans = split_sentences(source)
    if not spans or max_chars <= 0 or max_sentences <= 0:
        return ""
    texts = [" ".join(source[start:end].split()) for start, end in spans]
    scores = _scores(spans, match, field)
    ranked = sorted(range(len(spans)), key=lambda i: (-scores[i], i))
    if field == "summary":
        title_keys = _keys(item.title)
        ranked = [i for i in ranked if not _repeats(texts[i], title_keys)]
        if not ranked:
            return ""  # the summary only says what the title says
    chosen = _choose(ranked, texts, scores, max_chars, max_sentences)
    if not chosen:
        return _truncate(texts[ranked[0]], max_chars)
    return " ".join(texts[index] for index in sorted(chosen))


def _choose(
    ranked: Sequence[int],
    texts: Sequence[str],
    scores: Sequence[float],
    max_chars: int,
    max_sentences: int,
) -> list[int]:
    """Best sentences first while they fit; the best one must fit, or nothing is chosen.

    A relevant sentence that does not fit is skipped for a shorter one; the first plain filler
    sentence (no hit, not the lead) that does not fit ends the choice, so fillers stay contiguous.
    """
    chosen: list[int] = []
    length = 0
    for index in ranked:
        if len(chosen) == max_sentences:
            break
        cost = len(texts[index]) + (1 if chosen else 0)
        if length + cost <= max_chars:
            chosen.append(index)
            length += cost
        elif not chosen or scores[index] == 0:
            break
    return chosen


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, without surrounding whitespace."""
    spans = []
    start = 0
    for boundary in _BOUNDARY_RE.finditer(text):
        if not _ends_sentence(text, boundary):
            continue
        spans.append((start, boundary.end()))
        start = boundary.end()
    spans.append((start, len(text)))
    trimmed = [_trim(text, span) for span in spans]
    return [(start, end) for start, end in trimmed if start < end]


def _ends_sentence(text: str, boundary: re.Match[str]) -> bool:
    if boundary.group().startswith("\n"):
        return True
    following = text[boundary.end() :].lstrip()
    if not following:
        return True
    if following[0].islower():  # "approx. five", "… and then"
        return False
    if not boundary.group().startswith("."):
        return True
    before = text[max(0, boundary.start() - 30) : boundary.start() + 1]
    if _DOTTED_RE.search(before):
        return False
    word = _LAST_WORD_RE.search(before)
    if word is None:
        return True
    last = word.group(1)
    is_initial = len(last) == 1 and last.isupper()
    return not (is_initial or last.lower() in _ABBREVIATIONS)


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _scores(spans: Sequence[tuple[int, int]], match: Match | None, field: str) -> list[float]:
    scores = [0.0] * len(spans)
    scores[0] = LEAD_BONUS
    if match is None:
        return scores
    for index, (start, end) in enumerate(spans):
        terms = {hit.term for hit in match.hits if hit.field == field and start <= hit.start < end}
        scores[index] += len(terms)
    return scores


def _keys(text: str) -> set[str]:
    return {token.key for token in normalize_text(text)}


def _repeats(sentence: str, title_keys: set[str]) -> bool:
    keys = _keys(sentence)
    return bool(keys) and len(keys & title_keys) >= TITLE_REPEAT * len(keys)


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
