"""Clauses: which topics an item can match at all, before any query is evaluated.

A clause is a set of patterns one of which occurs in every item a topic's query matches (the
matcher derives them from the query: a term is one, AND adds up its children's, an OR is one made
of its children's). This index numbers each distinct clause once, however many topics share it
(every "@kyiv" is one clause), and files each topic under its two most specific clauses:

1. ``satisfied(found)``: the clauses one of whose patterns was found in the item;
2. ``woken(satisfied)``: the topics whose first and second clause are both satisfied (a topic
   with a single clause only needs that one). The cost follows the clauses the item satisfies,
   not the number of topics, so a word shared by thousands of topics ("shelling") wakes only
   those whose other clause (their place, say) was found too;
3. the numbers of a topic's other clauses come back from ``add``: the matcher checks them with
   one subset test against ``satisfied``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["Clause", "ClauseIndex"]

Clause = frozenset[str]
ALONE = -1  # the "second clause" of a topic that has only one


class ClauseIndex:
    """Topics by their two most specific clauses, so an item wakes only topics it can match."""

    def __init__(self) -> None:
        self._numbers: dict[Clause, int] = {}
        self._uses: Counter[int] = Counter()
        self._containing: dict[str, set[int]] = {}  # pattern → the clauses it is part of
        self._topics: dict[int, dict[int, set[str]]] = {}  # first → second (or ALONE) → topics
        self._next = 0

    def add(self, topic_id: str, clauses: Sequence[Clause]) -> frozenset[int]:
        """Index a topic by its clauses, most specific first; return the numbers of the rest."""
        numbers = [self._number(clause) for clause in clauses]
        first, second = numbers[0], numbers[1] if len(numbers) > 1 else ALONE
        self._topics.setdefault(first, {}).setdefault(second, set()).add(topic_id)
        return frozenset(numbers[2:])

    def remove(self, topic_id: str, clauses: Sequence[Clause]) -> None:
        numbers = [self._numbers[clause] for clause in clauses]
        first, second = numbers[0], numbers[1] if len(numbers) > 1 else ALONE
        by_second = self._topics[first]
        by_second[second].discard(topic_id)
        if not by_second[second]:
            del by_second[second]
            if not by_second:
                del self._topics[first]
        for clause, number in zip(clauses, numbers, strict=True):
            self._uses[number] -= 1
            if not self._uses[number]:
                del self._uses[number], self._numbers[clause]
                for pattern in clause:
                    self._containing[pattern].discard(number)
                    if not self._containing[pattern]:
                        del self._containing[pattern]

    def satisfied(self, found: Iterable[str]) -> set[int]:
        """The numbers of the clauses that the found patterns satisfy."""
        satisfied: set[int] = set()
        containing = self._containing
        for pattern in found:
            numbers = containing.get(pattern)
            if numbers:
                satisfied |= numbers
        return satisfied

    def woken(self, satisfied: set[int]) -> set[str]:
        """Ids of the topics whose first two clauses are both satisfied."""
        woken: set[str] = set()
        topics = self._topics
        for first in satisfied:
            by_second = topics.get(first)
            if by_second is None:
                continue
            alone = by_second.get(ALONE)
            if alone:
                woken |= alone
            if len(by_second) > (1 if alone else 0):
                for second in by_second.keys() & satisfied:
                    woken |= by_second[second]
        return woken

    def _number(self, clause: Clause) -> int:
        number = self._numbers.get(clause)
        if number is None:
            number = self._numbers[clause] = self._next
            self._next += 1
            for pattern in clause:
                self._containing.setdefault(pattern, set()).add(number)
        self._uses[number] += 1
        return number
