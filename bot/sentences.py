"""Sentences: where a reader would say one sentence ends and the next begins.

Contract: ``split_sentences(text)`` returns ``(start, end)`` spans into ``text``, in order,
without surrounding whitespace. A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing
quotes) followed by space and a sentence start, or at a blank line. Abbreviations (Mr., Gen.,
U.S., e.g., т.д., вул., ст.), initials (J. Biden), decimals (4.5) and a following lowercase word
do not end a sentence. Spans keep offsets so ``Match.hits`` can be placed in them.
"""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

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
