"""A dict that computes a missing value on first use, and starts over past a size limit.

The hot paths look the same few keys up again and again (words of the news, tokens of stories):
a dict's ``__getitem__`` answers a hit from C, also through ``map`` and ``filter``, and only a
miss runs Python. The limit bounds memory where keys keep coming (names, numbers, a new news
cycle); clearing everything at once is cheaper than an LRU's bookkeeping on every hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

__all__ = ["Memo"]

_K = TypeVar("_K")
_V = TypeVar("_V")


class Memo(dict[_K, _V]):
    """``memo[key]`` is ``compute(key)``, remembered for up to ``limit`` keys."""

    def __init__(self, compute: Callable[[_K], _V], limit: int) -> None:
        super().__init__()
        self._compute = compute
        self._limit = limit

    def __missing__(self, key: _K) -> _V:
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._compute(key)
        return value
