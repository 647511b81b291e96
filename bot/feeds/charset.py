"""Read legacy Cyrillic feeds whose bytes contradict the encoding they declare.

A feed written in windows-1251 or KOI8 that calls itself UTF-8 (or says nothing, so UTF-8 or
us-ascii is implied) is not valid in that encoding. feedparser then falls back to windows-1252,
which turns every Cyrillic word into mojibake ("Ìàð³óïîëü") that no topic matches and no reader
can read. ``legacy_cyrillic`` looks at such a document only, in this order:

1. feedparser's own reading must have fallen back: ``convert_to_utf8`` reports the document as
   declared in one encoding and parsed as windows-1252 or iso-8859-2, its last resorts;
2. the bytes must read as Cyrillic: most bytes above 0x7F are letters in both windows-1251 and
   KOI8 (0xC0–0xFF), and they come in runs, as the letters of a word do, where the accents of a
   Western text stand alone;
3. small letters outnumber capitals in running text: windows-1251 has them at 0xE0–0xFF, KOI8 at
   0xC0–0xDF, which decides between the two (KOI8-U: KOI8-R plus the Ukrainian letters);
4. the whole document must decode in the chosen encoding.

It returns the encoding to read the document in and the warning to record, or ``None`` to leave
the document to feedparser as it is.

``feedparser_reading(content, headers)`` is feedparser's ``convert_to_utf8`` for both this module
and ``fastparse``, which read the same document with the same headers: the last answer is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import CharacterEncodingOverride

__all__ = ["Recoding", "feedparser_reading", "legacy_cyrillic"]

_FALLBACKS = frozenset({"windows-1252", "iso-8859-2"})  # feedparser's guesses of last resort
_DECLARED = re.compile(r"declared as (\S+), but parsed as")
_ALONE = re.compile(rb"(?<![\x80-\xff])[\x80-\xff](?![\x80-\xff])")
_NOT_HIGH = bytes(range(0x80))
_NOT_LETTER = bytes(range(0xC0))  # letters are 0xC0–0xFF in windows-1251 and KOI8 alike
_NOT_UPPER_HALF = bytes(range(0xE0))
_MIN_HIGH_BYTES = 4
_MIN_SHARE = 0.75


# The last document converted: (content, headers, converted bytes, probe).
_last_reading: tuple[bytes, dict[str, str], bytes, dict[str, Any]] | None = None


def feedparser_reading(content: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, Any]]:
    """``convert_to_utf8``'s answer for ``content`` with ``headers``: the UTF-8 bytes feedparser's
    parser reads, and the probe it fills (``encoding``, ``bozo``, ``bozo_exception`` …).

    The answer for the last document is remembered (the same bytes object, equal headers), so a
    document read by ``legacy_cyrillic`` and then ``fastparse`` is converted once.
    """
    global _last_reading
    last = _last_reading
    if last is not None and last[0] is content and type(content) is bytes and last[1] == headers:
        return last[2], dict(last[3])
    probe: dict[str, Any] = {}
    data: bytes = convert_to_utf8(dict(headers), content, probe)
    _last_reading = (content, dict(headers), data, dict(probe))
    return data, probe


@dataclass(frozen=True, slots=True)
class Recoding:
    charset: str  # what to read the document as
    warning: str  # for the feed's record: what it declared, what it is


def legacy_cyrillic(content: bytes, headers: Mapping[str, str]) -> Recoding | None:
    """windows-1251 or KOI8-U when ``content`` is Cyrillic in a wrongly declared encoding."""
    if content.isascii():  # no byte a legacy encoding could have written a letter with
        return None
    _, probe = feedparser_reading(content, headers)
    fault = probe.get("bozo_exception")
    declared = _DECLARED.search(str(fault))
    if not isinstance(fault, CharacterEncodingOverride) or declared is None:
        return None
    if probe.get("encoding") not in _FALLBACKS:
        return None
    charset = _cyrillic_charset(content)
    if charset is None:
        return None
    try:
        content.decode(charset)
    except UnicodeDecodeError:
        return None
    return Recoding(charset, f"document declared as {declared[1]}, but parsed as {charset}")


def _cyrillic_charset(content: bytes) -> str | None:
    high = len(content.translate(None, _NOT_HIGH))
    if high < _MIN_HIGH_BYTES:
        return None
    letters = len(content.translate(None, _NOT_LETTER))
    alone = len(_ALONE.findall(content))
    if letters < _MIN_SHARE * high or high - alone < _MIN_SHARE * high:
        return None
    upper_half = len(content.translate(None, _NOT_UPPER_HALF))  # 0xE0–0xFF
    return "windows-1251" if upper_half >= letters - upper_half else "koi8-u"
