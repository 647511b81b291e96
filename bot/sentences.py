"""Sentences: where a reader would say one sentence ends and the next begins.

Contract: ``split_sentences(text)`` returns ``(start, end)`` spans into ``text``, in order,
without surrounding whitespace. A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing
quotes) followed by space and a sentence start, or at a blank line. Abbreviations (Mr., Gen.,
U.S., e.g., т.д., вул., ст.), initials (J. Biden), decimals (4.5) and a following lowercase word
do not end a sentence. Spans keep offsets so ``Match.hits`` can be placed in them. Together the
spans hold every character of ``text`` but whitespace, and a sentence ends only before whitespace
or at the end, so no word runs across two spans (the summarizer tokenizes sentence by sentence).

Speed: one regex scan finds the candidate ends and the character after each; a full stop looks
back only a few characters (``_LOOK_BACK``), as far as the longest abbreviation.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# A candidate end: ``[.!?…]+`` (with any closing quotes) before space, or a blank line ``\n\s*\n``.
# Group 1 is the first character after that space: "" at the end of the text, ``None`` for a
# blank line, which always ends a sentence. Written to start with one character class, which the
# regex engine skips to directly (an alternation at the start makes it try every position).
_BOUNDARY_RE = re.compile(r"[.!?…\n](?:(?<=\n)\s*\n|(?<!\n)[.!?…]*[\"'”»’)\]]*(?=\s+(\S?)))")
_ABBREVIATION_LIST = """
    mr mrs ms dr prof gen lt col sgt capt maj cmdr adm rep sen gov pres st jr sr rev fr
    vs etc approx fig vol pp ca cf jan feb mar apr jun jul aug sep sept oct nov dec
    т д п е г гг м вул ул обл р рр с пров ім им тис тыс млн млрд грн руб км див см проф акад
    пл просп пр ст о ген полк напр др тт
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
# Before a full stop: dotted letters (U.S., e.g., т.д.; no group 1), else the last word.
_BEFORE_STOP_RE = re.compile(r"(?:\b\w\.){2,}$|(\w+)\.$")
# How far back a full stop needs looking at: a longer last word is no abbreviation either, and
# two dotted letters take 4 characters.
_LOOK_BACK = max(4, *map(len, _ABBREVIATIONS)) + 2


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, without surrounding whitespace."""
    spans = []
    start = 0
    for boundary in _BOUNDARY_RE.finditer(text):
        following = boundary.group(1)
        if following is not None and not _ends_sentence(text, boundary.start(), following):
            continue
        spans.append(_trim(text, start, boundary.end()))
        start = boundary.end()
    spans.append(_trim(text, start, len(text)))
    return [(start, end) for start, end in spans if start < end]


def _ends_sentence(text: str, stop: int, following: str) -> bool:
    """Whether the punctuation at ``stop``, followed by space and ``following``, ends a sentence.

    Only a few characters before a full stop are read (``_LOOK_BACK``): enough for any
    abbreviation, so a long last word reads as a word, whole or not.
    """
    if not following:
        return True
    if following.islower():  # "approx. five", "… and then"
        return False
    if text[stop] != ".":
        return True
    before = _BEFORE_STOP_RE.search(text[max(0, stop - _LOOK_BACK) : stop + 1])
    if before is None:
        return True
    last = before.group(1)
    if last is None:  # U.S., e.g., т.д.
        return False
    is_initial = len(last) == 1 and last.isupper()
    return not (is_initial or last.lower() in _ABBREVIATIONS)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` less the whitespace at either end."""
    span = text[start:end]
    stripped = span.lstrip()
    start += len(span) - len(stripped)
    return start, start + len(stripped.rstrip())
