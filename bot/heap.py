"""Long-lived objects out of the garbage collector's way.

After start-up the bot holds a large heap that lives as long as the process: compiled topics
(the matcher's automaton and clauses), the story vocabulary, the last 48 hours of story clusters.
CPython's cyclic collector walks every tracked object on each full collection; with that heap a
full collection took about 100 ms in ``bench/ingest.py``, and full collections came often enough
to move its figure by 10–20 % from run to run. ``settle`` collects once, then moves everything
that survived into the permanent generation (``gc.freeze``), which the collector no longer walks.
Objects made later are collected as usual, and a frozen object that is dropped later is still
freed by reference counting; only a reference cycle among frozen objects would stay.
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> None:
    """Call once the long-lived state is built: collect, then freeze what is left."""
    gc.collect()
    gc.freeze()
