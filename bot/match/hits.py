"""Hits: the occurrences that made a topic match, turned into a scored ``Match``.

Contract: the matcher scans an item once and hands each matching topic's evidence as rows,
``(in summary, first token, last token, term as written)``, to ``to_match`` with the item's
``TokenOffsets``. Each distinct row becomes one ``Hit`` with character offsets in the original
text; the score counts each distinct term once, plus ``TITLE_BONUS`` if it occurs in the title.
Hits come in text order, title first (the order rows sort in).

Offsets are worked out only for the hits of items that match something: token i is word i of
``split_words`` unless a word had nothing to match (then ``word_spans`` sorts it out). Topics that
matched the same words share their ``Hit`` objects, which are slow to make and equal anyway.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from operator import itemgetter

from bot.match.normalize import word_spans
from bot.model import Hit, Match

__all__ = ["TITLE_BONUS", "Row", "TokenOffsets", "rows_of", "to_match"]

TITLE_BONUS = 0.5

# (in summary, first token, last token, the term as written): sorts in text order, title first.
Row = tuple[bool, int, int, str]
_FIRST_SUMMARY_ROW = (True,)  # sorts after every title row and before every summary row
_term = itemgetter(3)


class TokenOffsets(dict[Row, Hit]):
    """An item's hits by row, each made on first use from where the field's tokens are."""

    __slots__ = ("_spans", "parts", "tokens_are_words")

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[str, list[str]] = {}  # field → its split_words
        self.tokens_are_words: dict[str, bool] = {}
        self._spans: dict[str, list[tuple[int, int]]] = {}  # when some word is not a token

    def __missing__(self, row: Row) -> Hit:
        in_summary, first, last, term = row
        field = "summary" if in_summary else "title"
        parts = self.parts[field]
        if self.tokens_are_words[field]:  # word i is part 2i + 1: joining is cheaper than counting
            start = len("".join(parts[: 2 * first + 1]))
            if first == last:
                end = start + len(parts[2 * first + 1])
            else:
                end = start + len("".join(parts[2 * first + 1 : 2 * last + 2]))
        else:
            spans = self._spans.get(field) or self._spans.setdefault(field, word_spans(parts))
            start, end = spans[first][0], spans[last][1]
        hit = self[row] = Hit(field, start, end, term)
        return hit


def to_match(
    topic_id: str, rows: Iterable[Row], offsets: TokenOffsets, min_score: float
) -> Match | None:
    """The match made of ``rows``, or ``None`` when its score is below ``min_score``."""
    ordered = sorted(rows)
    titled = bisect_left(ordered, _FIRST_SUMMARY_ROW)
    score = len(set(map(_term, ordered))) + TITLE_BONUS * len(set(map(_term, ordered[:titled])))
    if score < min_score:
        return None
    return Match(topic_id, tuple(map(offsets.__getitem__, ordered)), score)


def rows_of(evidence: Iterable[tuple[str, str, int, int]], labels: Mapping[str, str]) -> set[Row]:
    """Rows of occurrences found by evaluating a query, named by the term as written."""
    return {(field != "title", first, last, labels[p]) for p, field, first, last in evidence}
