"""The bundled offline demo feeds parse cleanly and show what the demo promises."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.feeds.parse import ParsedFeed, parse_feed
from bot.feeds.urls import canonical_url

SAMPLES = Path(__file__).resolve().parents[1] / "config" / "samples"
SAMPLE_BASE = "http://127.0.0.1:8000"  # where `wirewatch demo` serves them

# file, media type the demo server sends, items, feed language, ttl (seconds)
CASES = [
    ("meridian-wire.rss", "application/rss+xml", 7, "en", 900),
    ("northline-dispatch.atom", "application/atom+xml", 6, "en", None),
    ("pryazovskyi-visnyk.rdf", "application/rdf+xml", 6, "uk", 1800),
    ("stepnoy-kurier.json", "application/feed+json", 6, "ru", None),
]
DEDUPE_URL = "https://meridian-wire.test/2022/03/31/mariupol-buses-zaporizhzhia"


def _parse(name: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed(
        (SAMPLES / name).read_bytes(), feed_url=f"{SAMPLE_BASE}/{name}", content_type=content_type
    )


def test_every_sample_file_is_covered() -> None:
    feeds = {path.name for path in SAMPLES.iterdir() if path.suffix != ".md"}
    assert feeds == {case[0] for case in CASES}


@pytest.mark.parametrize(("name", "content_type", "count", "language", "ttl"), CASES)
def test_sample_feed_parses_cleanly(
    name: str, content_type: str, count: int, language: str, ttl: int | None
) -> None:
    parsed = _parse(name, content_type)
    assert parsed.warning is None
    assert parsed.title
    assert parsed.ttl == ttl
    assert len(parsed.items) == count
    assert {item.language for item in parsed.items} == {language}
    for item in parsed.items:
        assert item.source_title == parsed.title
        assert item.title and "<" not in item.title and "&" not in item.title
        assert "\n" not in item.title
        assert "<" not in item.summary and "&amp;" not in item.summary
        assert item.published is not None and item.published.tzinfo is UTC
        assert datetime(2022, 3, 1, tzinfo=UTC) <= item.published < datetime(2022, 5, 1, tzinfo=UTC)
        if item.url is not None:
            assert item.url == canonical_url(item.url)
            assert "utm_" not in item.url and "fbclid" not in item.url
            assert item.url.startswith("https://") and ".test/" in item.url


@pytest.mark.parametrize("name", [case[0] for case in CASES])
def test_sample_keys_are_unique_and_stable_across_parses(name: str) -> None:
    first = [item.key for item in _parse(name).items]
    second = [item.key for item in _parse(name).items]
    assert first == second
    assert len(set(first)) == len(first)


def test_the_syndicated_story_has_one_canonical_url_in_two_feeds() -> None:
    wire = [item for item in _parse("meridian-wire.rss").items if item.url == DEDUPE_URL]
    atom = [item for item in _parse("northline-dispatch.atom").items if item.url == DEDUPE_URL]
    assert len(wire) == len(atom) == 1
    assert wire[0].key != atom[0].key  # two feeds, two entries, one story
    raw = b"".join(
        (SAMPLES / name).read_bytes() for name in ("meridian-wire.rss", "northline-dispatch.atom")
    )
    assert raw.count(b"mariupol-buses-zaporizhzhia?") == 2  # both links carry tracking params


def test_samples_mix_spellings_scripts_and_hard_negatives() -> None:
    text = {
        name: " ".join(f"{item.title} {item.summary}" for item in _parse(name).items)
        for name, *_ in CASES
    }
    english = text["meridian-wire.rss"] + text["northline-dispatch.atom"]
    for spelling in ("Kiev", "Kyiv", "Zaporizhzhia", "Zaporizhia", "Zaporozhye", "Istanbul"):
        assert spelling in english
    for word in ("Маріуполь", "Маріуполя", "евакуаційних", "гуманітарного коридору", "переговори"):
        assert word in text["pryazovskyi-visnyk.rdf"]
    for word in ("Мариуполя", "Эвакуация", "переговоров", "Стамбуле"):
        assert word in text["stepnoy-kurier.json"]
    # a football "talks" story, a steelworks history, a wildfire evacuation, tech news
    assert "striker" in english and "steelworks" in english
    assert (
        "Лесной пожар" in text["stepnoy-kurier.json"] and "смартфон" in text["stepnoy-kurier.json"]
    )


def test_the_rss_sample_shows_plain_text_from_html_and_a_hashed_key() -> None:
    items = {item.title: item for item in _parse("meridian-wire.rss").items}
    convoy = next(item for title, item in items.items() if title.startswith("Red Cross"))
    assert convoy.summary.startswith("A column of 45 buses left Zaporizhzhia")
    assert "pixel" not in convoy.summary
    steelworks = items["From the archive: how a steelworks built Mariupol"]
    assert "trackView" not in steelworks.summary and "—" in steelworks.summary
    briefing = items["Morning briefing: what we are watching on Friday"]
    assert briefing.key.startswith("sha1:") and briefing.url is None


def test_the_atom_sample_resolves_relative_links_against_xml_base() -> None:
    urls = [item.url for item in _parse("northline-dispatch.atom").items]
    assert "https://northline-dispatch.test/2022/03/31/talks-resume-video" in urls
    assert all(url and not url.startswith(SAMPLE_BASE) for url in urls)
