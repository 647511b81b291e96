"""Hits: the occurrences that made a topic match, scored, and turned into ``Hit``s when asked for.

Contract: the matcher scans an item once and scores each matching topic from its evidence (the
occurrences ``(pattern, field, first token, last token)`` that made the query true, and each
pattern's term as written): each distinct term counts 1, plus ``TITLE_BONUS`` if it occurs in the
title. The ``Match`` it returns keeps that evidence and the item's ``TokenOffsets`` and builds its
hits on first access (``present_hits``, ``evidence_hits``): each distinct row, ``(in summary,
first token, last token, term as written)``, becomes one ``Hit`` with character offsets in the
original text, in text order, title first (the order rows sort in).

Offsets are worked out only for the hits somebody reads: token i is word i of ``split_words``
unless a word had nothing to match (then ``word_spans`` sorts it out). Matches of one item share
their ``Hit`` objects, which are slow to make and equal anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.match.evaluate import Occurrence
from bot.match.normalize import word_spans
from bot.model import Hit

__all__ = [
    "TITLE_BONUS",
    "Row",
    "TokenOffsets",
    "evidence_hits",
    "evidence_score",
    "present_hits",
]

TITLE_BONUS = 0.5

# (in summary, first token, last token, the term as written): sorts in text order, title first.
Row = tuple[bool, int, int, str]


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


def evidence_score(evidence: Iterable[Occurrence], labels: Mapping[str, str]) -> float:
    """The score of a query's evidence: each distinct term 1, plus the bonus if in the title."""
    terms = {labels[pattern] for pattern, _, _, _ in evidence}
    titled = {labels[pattern] for pattern, field, _, _ in evidence if field == "title"}
    return len(terms) + TITLE_BONUS * len(titled)


def evidence_hits(
    source: tuple[TokenOffsets, list[Occurrence], Mapping[str, str]],
) -> tuple[Hit, ...]:
    """The hits of an evaluated query's evidence, in text order, title first."""
    offsets, evidence, labels = source
    rows = {(field != "title", first, last, labels[p]) for p, field, first, last in evidence}
    return tuple(map(offsets.__getitem__, sorted(rows)))


def present_hits(
    source: tuple[TokenOffsets, Mapping[str, list[Occurrence]], Iterable[str], Mapping[str, str]],
) -> tuple[Hit, ...]:
    """The hits of every occurrence of the patterns found, in text order, title first."""
    offsets, found, patterns, labels = source
    rows = [
        (field != "title", first, last, labels[pattern])
        for pattern in patterns
        for _, field, first, last in found[pattern]
    ]
    rows.sort()
    return tuple(map(offsets.__getitem__, rows))
