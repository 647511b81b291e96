"""The parse stage's shortcuts give exactly what the long way gives.

``fastxml.parse_date`` reads the common RFC 822 dates itself, ``text.tidy_paragraphs`` skips work
on paragraphs that are already tidy or hold no "Read more" invitation, and ``parse._utc`` builds
a datetime directly: each is compared here with the code it stands in for, on random input built
to hit the edges (odd whitespace, invisible characters, invitations, ellipses, bad dates).
"""

from __future__ import annotations

import calendar
import contextlib
import random
import re
import sys
import time
from datetime import UTC, datetime

import pytest
from feedparser.datetimes import _parse_date

from bot.feeds import text
from bot.feeds.fastxml import finish, parse_date
from bot.feeds.parse import _utc

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Xyz")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZONES = ("GMT", "+0000", "-0000", "+0300", "-0530", "+1400", "-1200", "+9999", "UTC", "EST", "Z")


def _random_date(rng: random.Random) -> str:
    day = rng.choice(_DAYS)
    number = rng.choice((rng.randint(0, 32), rng.randint(1, 28)))
    month = rng.choice((*_MONTHS, "Foo", "oct"))
    year = rng.choice((rng.randint(1, 9999), rng.randint(1990, 2040), 9999, 1, 1970))
    clock = (rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61))
    zone = rng.choice(_ZONES)
    text_ = f"{day}, {number:02d} {month} {year:04d} {clock[0]:02d}:{clock[1]:02d}:{clock[2]:02d}"
    text_ = f"{text_} {zone}"
    if rng.random() < 0.1:
        text_ = text_.replace(", ", " ", 1)
    if rng.random() < 0.05:
        text_ = f" {text_}"
    return text_


def test_parse_date_equals_feedparser() -> None:
    rng = random.Random(7)
    samples = [_random_date(rng) for _ in range(20_000)]
    samples += ["", "Sat, 01 Oct 2026 00:00:00 GMT", "Tue, 31 Dec 9999 23:59:59 -1200"]
    samples += ["Mon, 01 Jan 0001 00:00:00 +0100", "Sun, 29 Feb 2024 12:00:00 GMT"]
    for sample in samples:
        assert parse_date(sample) == _parse_date(sample), sample


def _reference_utc(parsed: time.struct_time | None) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def test_utc_equals_the_round_trip() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        parts = (
            rng.choice((rng.randint(1, 9999), rng.randint(1900, 2100), 1900, 1901, 9998, 9999)),
            rng.randint(0, 13),
            rng.randint(0, 32),
            rng.randint(0, 24),
            rng.randint(0, 60),
            rng.randint(0, 61),
            0,
            1,
            0,
        )
        try:
            parsed = time.struct_time(parts)
        except (TypeError, ValueError):
            continue
        try:
            expected = _reference_utc(parsed)
        except Exception as error:  # the reference's own failure must be ours too
            with pytest.raises(type(error)):
                _utc(parsed)
            continue
        assert _utc(parsed) == expected, parts
        assert repr(_utc(parsed)) == repr(expected)


def test_finish_equals_feedparser_touches() -> None:
    from feedparser.html import _cp1252

    def reference(value: str) -> str:
        if value.isascii():
            return value
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            value = value.encode("iso-8859-1").decode("utf-8")
        return value.translate(_cp1252) if re.search("[\x80-\x9f]", value) else value

    rng = random.Random(3)
    alphabet = "aé\x80\x93\xc2\xc3\xa9\xd0\x9cМі€ 😀\ud800"
    for _ in range(20_000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert finish(sample) == reference(sample), sample


# text.tidy_paragraphs as it was before its shortcuts, the reference.
def _reference_tidy(paragraphs: list[str]) -> list[str]:
    tidy = [" ".join(text._INVISIBLE.sub("", paragraph).split()) for paragraph in paragraphs]
    tidy = [p for p in tidy if p and not text._AD_LABEL.fullmatch(p)]
    while tidy and text._READ_ON_PARAGRAPH.fullmatch(tidy[-1]):
        tidy.pop()
    if tidy:
        tidy[-1] = _reference_tail(tidy[-1])
        if not tidy[-1]:
            tidy.pop()
    return tidy


def _reference_tail(paragraph: str) -> str:
    cut = max(0, len(paragraph) - text._TAIL_WINDOW)
    head, tail = paragraph[:cut], paragraph[cut:]
    if cut:
        head, tail = head[:-1], head[-1] + tail
    tail = text._READ_ON_TAIL.sub("", tail)
    if tail.endswith(("]", ")")):
        tail = text._ELLIPSIS_MARK.sub("…", tail)
    return (head + tail).rstrip()


_PIECES = (
    "word", "Слово", "слово.", "News.", "end!", "«цитата»", "x", "ſtory", "ꓘeep", "ᲀ",
    "Read more", "read MORE", "Continue reading", "keep reading", "full story", "Full Article",
    "read the full story", "read the rest of the post", "click here to read more",
    "tap here to read more", "Читати далі", "читати більше", "Докладніше", "детальніше",
    "Читать далее", "читать полностью", "подробнее", "more", "далі", "далее",
    "The post", "appeared first on", "Advertisement", "Реклама",
    "…", "...", "→", "»", "›", ">", ":", "]", ")", "[", "(", "[…]", "(...)", "[...]",
    ".", "!", "?", '"', "”",
)  # fmt: skip
_GAPS = (" ", " ", " ", "", "  ", "\t", "\n", "\xa0", "\u2009", "\u3000", "\u00ad", "\u200b",
         "\ufeff", "\x1c", "\x85")  # fmt: skip


def _random_paragraph(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.choice((1, 2, 3, 5, 8, 40, 80))):
        parts.append(rng.choice(_PIECES))
        parts.append(rng.choice(_GAPS))
    return "".join(parts)


def test_tidy_paragraphs_equals_the_long_way() -> None:
    rng = random.Random(5)
    for _ in range(30_000):
        paragraphs = [_random_paragraph(rng) for _ in range(rng.choice((1, 1, 2, 3)))]
        assert text.tidy_paragraphs(paragraphs) == _reference_tidy(paragraphs), paragraphs


def test_other_spaces_are_every_space_but_the_space() -> None:
    spaces = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert set(text._OTHER_SPACES) == spaces - {" "}
    untidy = set(text._OTHER_SPACES) | set("\u00ad\u200b\u200c\u200d\u2060\ufeff")
    assert all(text._INVISIBLE.fullmatch(char) or char.isspace() for char in untidy)
    assert not any(char.isprintable() for char in untidy)  # text._tidy relies on it


def _phrases(pattern: str) -> set[str]:
    """Every string a pattern of literals, alternatives and groups matches (case as written)."""
    from re import _constants as constants  # type: ignore[attr-defined]
    from re import _parser as parser  # type: ignore[attr-defined]

    def expand(items: list[tuple[object, object]]) -> set[str]:
        found = {""}
        for op, argument in items:
            if op is constants.LITERAL:
                options = {chr(argument)}  # type: ignore[arg-type]
            elif op is constants.BRANCH:
                options = set().union(*(expand(list(branch)) for branch in argument[1]))  # type: ignore[index]
            elif op is constants.SUBPATTERN:
                options = expand(list(argument[-1]))  # type: ignore[index]
            else:
                raise AssertionError(f"not a finite pattern: {op}")
            found = {head + tail for head in found for tail in options}
        return found

    return expand(list(parser.parse(pattern)))


def test_read_on_last_words_cover_every_invitation() -> None:
    """Every invitation _READ_ON matches ends with a word _READ_ON_LAST_WORD knows."""
    phrases = _phrases(text._READ_ON)
    assert "continue reading" in phrases and "читать полностью" in phrases
    for phrase in phrases:
        assert text._AFTER_READ_ON_LAST_WORD.match(phrase, len(phrase)), phrase
        assert text._AFTER_READ_ON_LAST_WORD.match(phrase.upper() + ".", len(phrase)), phrase
        assert not text._AFTER_READ_ON_LAST_WORD.match(phrase, len(phrase) - 1), phrase
