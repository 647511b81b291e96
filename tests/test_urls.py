"""canonical_url: one article under several links maps to one URL; non-web links map to None."""

from __future__ import annotations

import pytest

from bot.feeds.urls import _canonical, canonical_url


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        # case, default port, fragment, parameter order
        (
            "HTTP://Example.COM:80/Path/Story?b=2&a=1#comments",
            None,
            "http://example.com/Path/Story?a=1&b=2",
        ),
        ("https://example.com:443/a", None, "https://example.com/a"),
        ("https://example.com:8443/a", None, "https://example.com:8443/a"),
        ("https://example.com", None, "https://example.com/"),
        # tracking parameters go, real ones stay; an emptied query leaves no "?"
        (
            "https://news.example/a?utm_source=rss&utm_medium=feed&id=7&fbclid=IwAR0",
            None,
            "https://news.example/a?id=7",
        ),
        (
            "https://news.example/a?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&yclid=6&igshid=7",
            None,
            "https://news.example/a",
        ),
        ("https://news.example/a?_ga=1&ref_src=twsrc&cmpid=x", None, "https://news.example/a"),
        ("https://news.example/a?UTM_Source=x&WT.mc_id=y&q=z", None, "https://news.example/a?q=z"),
        ("https://news.example/a?", None, "https://news.example/a"),
        ("https://news.example/a?page=2&utm_campaign=", None, "https://news.example/a?page=2"),
        # credentials are dropped, path case is kept
        ("https://user:secret@news.example/Kyiv/Live", None, "https://news.example/Kyiv/Live"),
        # IDNA host, percent-encoding normalised for non-ASCII paths
        (
            "https://пример.испытание/новости/Маріуполь",
            None,
            "https://xn--e1afmkfd.xn--80akhbyknj4f/"
            "%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8/%D0%9C%D0%B0%D1%80%D1%96%D1%83%D0%BF%D0%BE%D0%BB%D1%8C",
        ),
        ("https://news.example/%7euser/a%2fb", None, "https://news.example/~user/a%2Fb"),
        # relative references resolve against the base
        (
            "/2022/03/31/story?utm_source=rss",
            "https://news.example/feed.xml",
            "https://news.example/2022/03/31/story",
        ),
        ("story.html", "https://news.example/world/rss", "https://news.example/world/story.html"),
        ("//cdn.example/a", "https://news.example/", "https://cdn.example/a"),
        ("  https://news.example/a \n", None, "https://news.example/a"),
        ("http://[::1]:80/a", None, "http://[::1]/a"),
        # no web address to be had
        ("", None, None),
        ("   ", None, None),
        ("mailto:desk@news.example", None, None),
        ("javascript:alert(1)", "https://news.example/", None),
        ("ftp://news.example/file", None, None),
        ("/relative/without/base", None, None),
        ("https:///no-host", None, None),
        ("http://exa mple.com/", None, None),
        ("http://news.example:99999/", None, None),
        ("http://[::1/", None, None),
    ],
)
def test_canonical_url(url: str, base: str | None, expected: str | None) -> None:
    assert canonical_url(url, base) == expected


def test_the_same_article_under_tracking_variants_is_one_url() -> None:
    variants = [
        "https://meridian-wire.test/2022/03/31/mariupol-buses?utm_source=rss&utm_medium=feed",
        "https://Meridian-Wire.test/2022/03/31/mariupol-buses?fbclid=IwAR1&utm_campaign=partner",
        "https://meridian-wire.test:443/2022/03/31/mariupol-buses#top",
        "/2022/03/31/mariupol-buses?mc_cid=1",
    ]
    canonical = {canonical_url(url, "https://meridian-wire.test/rss") for url in variants}
    assert canonical == {"https://meridian-wire.test/2022/03/31/mariupol-buses"}


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTPS://Пример.испытание:443/Шлях?b=1&a=2&utm_term=x#f")
    assert once is not None
    assert canonical_url(once) == once


PLAIN_LOOKING = [
    "https://wire.example",
    "https://wire.example/",
    "http://a.b-c.example/news/2026/03/01/mariupol-buses",
    "https://www.ukrinform.net/rubric-ato/3456789-evacuation.html",
    "https://x.example/a..b/c.d/~user/-x_y/",
    "https://x.example/A/B/Case",
    "https://x.example/.hidden",
    "https://x.example/./a/../b",
    "https://x.example//double",
    "https://X.example/a",
    "https://x.example:443/a",
    "https://x.example./a",
    "https://x..example/a",
    "https://-x.example/a",
    "https://x.example/a%20b",
    "https://x.example/a?utm_source=x",
    "https://x.example/a#frag",
    "HTTPS://x.example/a",
    "https://xn--80aafjbeh0ag.example/a",
    "https://123.45.67.89/a",
]


@pytest.mark.parametrize("url", PLAIN_LOOKING)
def test_the_shortcut_for_plain_links_agrees_with_the_full_treatment(url: str) -> None:
    assert canonical_url(url) == _canonical(url, None)
    assert canonical_url(url, "https://base.example/feed/") == _canonical(url, None)
