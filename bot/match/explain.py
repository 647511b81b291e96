"""Explanations: a match's hits turned into words a person can check against what they read.

A ``Match`` already carries a ``Hit`` per occurrence (field, character offsets, the query term as
written). This module only renders them, so every surface explains a match the same way:

- ``why``: the short reason, the distinct terms in order of first appearance ("Mariupol + evacu*");
- ``evidence``: each term with the words of the item it met, in text order, summary hits marked
  (``Mariupol ← "Маріуполя"; evacu* ← "evacuated", "evacuation" (summary)``);
- ``highlight``: one field of the item with the matched words in brackets.
"""

from __future__ import annotations

from bot.model import Item, Match

__all__ = ["evidence", "highlight", "why"]


def why(match: Match) -> str:
    return " + ".join(match.terms)


def evidence(match: Match, item: Item) -> str:
    """Each matched term and the words it met: ``term ← "word", "word" (summary)``."""
    words_by_term: dict[str, dict[str, None]] = {}
    for hit in match.hits:
        where = " (summary)" if hit.field == "summary" else ""
        word = f'"{_text_of(item, hit.field)[hit.start : hit.end]}"{where}'
        words_by_term.setdefault(hit.term, {})[word] = None
    return "; ".join(f"{term} ← {', '.join(words)}" for term, words in words_by_term.items())


def highlight(item: Item, match: Match, field: str = "title") -> str:
    """``field`` of ``item`` with every word of ``match`` in that field in [brackets]."""
    text = _text_of(item, field)
    spans: list[list[int]] = []
    for start, end in sorted({(hit.start, hit.end) for hit in match.hits if hit.field == field}):
        if spans and start < spans[-1][1]:  # a phrase and one of its words: one bracket
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    pieces: list[str] = []
    done = 0
    for start, end in spans:
        pieces += [text[done:start], "[", text[start:end], "]"]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _text_of(item: Item, field: str) -> str:
    return item.title if field == "title" else item.summary
