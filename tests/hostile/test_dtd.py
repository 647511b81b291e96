"""The DTD guard in ``parse_feed``: ways to hide a hostile DTD, and DTDs that must still pass.

The running bot's view of these attacks is in test_entities.py; here each trick to slip entities
past the guard (a comment, another encoding, a reference without its ";") is one row.
"""

from __future__ import annotations

import base64

import pytest

from bot.errors import FeedError
from bot.feeds.dtd import MAX_EXPANSION
from bot.feeds.parse import parse_feed
from tests.hostile.documents import item, rss_document

FEED_URL = "https://hostile.example/feed.xml"
BIG = "A" * 100_000
EXPANSION = "its entities would expand to"


def _utf7_hidden(prolog: str) -> bytes:
    """``prolog`` spelt as one UTF-7 base64 run: not a single "<" or "!" in the bytes."""
    hidden = base64.b64encode(prolog.encode("utf-16-be")).decode().rstrip("=")
    document = rss_document(item("&big;" * 20, guid="utf7"), prolog="PROLOG", encoding="utf-7")
    return document.replace("PROLOG", f"+{hidden}-").encode("ascii")


REFUSED = [
    (
        "a comment holding '<a' before the DOCTYPE",
        rss_document(
            item("&big;" * 20, guid="c"),
            prolog=f'<!-- <a href="x"> -->\n<!DOCTYPE rss [\n<!ENTITY big "{BIG}">\n]>',
        ).encode(),
        None,
        EXPANSION,
    ),
    (
        "the declaration inside a comment, where feedparser still finds it",
        rss_document(
            item("&big;" * 20, guid="d"),
            prolog=f'<!--\n<!ENTITY big "{BIG}">\n-->\n<!DOCTYPE rss>',
        ).encode(),
        None,
        EXPANSION,
    ),
    (
        "UTF-16",
        rss_document(
            item("&xxe;", guid="u"),
            prolog='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            encoding="utf-16",
        ).encode("utf-16"),
        None,
        "external entity &xxe; (file:///etc/passwd)",
    ),
    (
        "UTF-7 named by the Content-Type",
        _utf7_hidden(f'<!DOCTYPE rss [<!ENTITY big "{BIG}">]>'),
        "application/xml; charset=utf-7",
        EXPANSION,
    ),
    (
        "references without their ';', as the loose parser reads them",
        rss_document(
            item("&big " * 20, guid="s"), prolog=f'<!DOCTYPE rss [\n<!ENTITY big "{BIG}">\n]>'
        ).encode(),
        None,
        EXPANSION,
    ),
    (
        "an external entity written in lower case",
        rss_document(
            item("x", guid="l"), prolog='<!DOCTYPE rss [<!entity x system "http://10.0.0.1/">]>'
        ).encode(),
        None,
        "external entity &x; (http://10.0.0.1/)",
    ),
    (
        "a declaration that cannot be read",
        rss_document(item("x", guid="r"), prolog="<!DOCTYPE rss [<!ENTITY >]>").encode(),
        None,
        "an entity declaration cannot be read",
    ),
    (
        "an internal parameter entity",
        rss_document(
            item("x", guid="p"),
            prolog="<!DOCTYPE rss [<!ENTITY % d \"<!ENTITY x 'y'>\"> %d;]>",
        ).encode(),
        None,
        "the parameter entity %d; (not allowed)",
    ),
]


@pytest.mark.parametrize(
    ("document", "content_type", "reason"),
    [pytest.param(document, ctype, reason, id=name) for name, document, ctype, reason in REFUSED],
)
def test_a_hidden_hostile_dtd_is_still_refused(
    document: bytes, content_type: str | None, reason: str
) -> None:
    with pytest.raises(FeedError) as refused:
        parse_feed(document, feed_url=FEED_URL, content_type=content_type)
    assert str(refused.value).startswith("refused: unsafe DTD: ")
    assert reason in str(refused.value)


def test_entity_text_in_an_item_is_not_a_dtd() -> None:
    """A security blog may quote an XXE payload; after the root element it is only text."""
    payload = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    document = rss_document(
        item(
            "How XXE works",
            guid="blog-1",
            extra=f"<description><![CDATA[{payload}]]></description>",
        )
    )
    [parsed] = parse_feed(document.encode(), feed_url=FEED_URL).items
    assert parsed.title == "How XXE works"


def test_character_entities_pass_however_often_they_are_used() -> None:
    document = rss_document(
        item("a&nbsp;b" * 5_000, guid="nbsp"),
        prolog='<!DOCTYPE rss [\n<!ENTITY nbsp "&#160;">\n]>',
    )
    [parsed] = parse_feed(document.encode(), feed_url=FEED_URL).items
    assert parsed.title.startswith("a ba b") and "&" not in parsed.title  # U+00A0 is a space


def test_plain_text_entities_pass_up_to_the_expansion_limit() -> None:
    value = "x" * 1024
    uses = MAX_EXPANSION // len(value)
    prolog = f'<!DOCTYPE rss [\n<!ENTITY k "{value}">\n]>'
    fits = rss_document(item("&k;" * uses, guid="fits"), prolog=prolog)
    [parsed] = parse_feed(fits.encode(), feed_url=FEED_URL).items
    assert len(parsed.title) == MAX_EXPANSION
    over = rss_document(item("&k;" * (uses + 1), guid="over"), prolog=prolog)
    with pytest.raises(FeedError, match="would expand to 1 MiB"):
        parse_feed(over.encode(), feed_url=FEED_URL)
