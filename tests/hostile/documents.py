"""Hostile and broken feed documents, each built to do one bad thing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

__all__ = [
    "BILLION_LAUGHS",
    "ODD_ITEMS",
    "QUADRATIC_BLOWUP",
    "REDOS_AUTHOR",
    "SMALL_ENTITY",
    "cyrillic_feed",
    "external_dtd",
    "external_entity",
    "external_parameter_entity",
    "html_page",
    "item",
    "many_items",
    "rss_document",
]


def item(
    title: str,
    *,
    guid: str | None = None,
    link: str | None = None,
    description: str = "",
    published: str | None = None,
    extra: str = "",
    guid_is_link: bool = False,
) -> str:
    """One RSS <item>; ``title`` and ``extra`` are written as given (they may hold references).

    The guid is marked ``isPermaLink="false"`` unless ``guid_is_link``: RSS 2.0 takes a guid
    without the attribute for the item's link.
    """
    parts = [f"<title>{title}</title>"]
    if guid is not None:
        permalink = "" if guid_is_link else ' isPermaLink="false"'
        parts.append(f"<guid{permalink}>{escape(guid)}</guid>")
    if link is not None:
        parts.append(f"<link>{escape(link)}</link>")
    if description:
        parts.append(f"<description>{escape(description)}</description>")
    if published is not None:
        parts.append(f"<pubDate>{published}</pubDate>")
    return f"<item>{''.join(parts)}{extra}</item>"


def rss_document(
    *items: str, title: str = "Hostile Wire", prolog: str = "", encoding: str = "utf-8"
) -> str:
    """An RSS 2.0 document; ``prolog`` goes between the XML declaration and <rss> (a DOCTYPE)."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n{prolog}\n'
        f'<rss version="2.0"><channel><title>{title}</title><link>https://hostile.example/</link>'
        f"{''.join(items)}</channel></rss>"
    )


def _now(minutes_ago: float = 5) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(minutes=minutes_ago))


# --- entities ---------------------------------------------------------------------------------

_LAUGHS = ['<!ENTITY lol "lol">'] + [
    f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
    for n in range(1, 10)
]
#: The classic: nine levels of ten references each, 10⁹ "lol"s from under 1 KB.
BILLION_LAUGHS = rss_document(
    item("&lol9; kestrel", guid="laughs-1", published=_now()),
    prolog="<!DOCTYPE rss [\n" + "\n".join(_LAUGHS) + "\n]>",
)
#: One flat 100 KB entity referenced 40,000 times: ~4 GB from a 220 KB feed, with no nesting
#: for "billion laughs" defences to notice, and a value feedparser deems safe.
QUADRATIC_BLOWUP = rss_document(
    item("&big;" * 40_000 + " kestrel", guid="quadratic-1", published=_now()),
    prolog=f'<!DOCTYPE rss [\n<!ENTITY big "{"A" * 100_000}">\n]>',
)
#: A benign DTD: one short plain-text entity, as feedparser's own test feeds use.
SMALL_ENTITY = rss_document(
    item("Kestrel census &year; published", guid="&id;census", published=_now()),
    prolog='<!DOCTYPE rss [\n<!ENTITY id "tag:hostile.example,2024:">\n<!ENTITY year "2024">\n]>',
)


def external_entity(system_id: str) -> str:
    """XXE: a general entity whose value would be read from ``system_id``."""
    return rss_document(
        item("Leak: &xxe; kestrel", guid="xxe-1", description="see title", published=_now()),
        prolog=f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{system_id}">]>',
    )


def external_parameter_entity(url: str) -> str:
    """Out-of-band XXE: a parameter entity that would load a DTD from ``url`` and run it."""
    return rss_document(
        item("Kestrel exfiltration", guid="oob-1", published=_now()),
        prolog=f'<!DOCTYPE rss [\n<!ENTITY % remote SYSTEM "{url}">\n%remote;\n]>',
    )


def external_dtd(url: str) -> str:
    """An external DTD subset, as RSS 0.91 feeds carry: allowed, and never loaded."""
    return rss_document(
        item("Kestrel with a DTD", guid="dtd-1", published=_now()),
        prolog=f'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "{url}">',
    )


# --- parsers ----------------------------------------------------------------------------------

#: feedparser's author e-mail regex backtracks catastrophically on this (upstream issue 562).
REDOS_AUTHOR = rss_document(
    item(
        "Kestrel trap",
        guid="redos-1",
        published=_now(),
        extra="<author>a@" + "a." * 16_000 + "!</author>",
    )
)


def html_page(*feed_hrefs: str) -> str:
    """A site's home page where its feed should be, advertising its feeds in <head>."""
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="News" href="{href}">'
        for href in feed_hrefs
    )
    return (
        "<!DOCTYPE html><html><head><title>Hostile News</title>"
        f'<link rel="stylesheet" href="/site.css">{links}</head>'
        "<body><h1>Hostile News</h1><p>Kestrel stories, every day.</p></body></html>"
    )


def cyrillic_feed(channel: str, title: str, encoding: str, *, declared: str) -> bytes:
    """A feed whose bytes are in ``encoding`` while its XML declaration says ``declared``."""
    document = rss_document(
        item(title, guid=f"cyrillic-{encoding}", published=_now(), description=title),
        title=channel,
        encoding=declared,
    )
    return document.encode(encoding)


# --- volume and oddities ----------------------------------------------------------------------


RINGING_SITES = ("Lviv", "Odesa", "Kharkiv", "Poltava", "Sumy", "Chernihiv", "Vinnytsia")


def ringing_report(n: int) -> str:
    """The title of matching item ``n``: reports from different places are different stories."""
    return f"Kestrel ringing report no. {n} from {RINGING_SITES[n % len(RINGING_SITES)]}"


def many_items(count: int, *, fresh_matching: tuple[int, ...], every_old_matching: int) -> str:
    """``count`` items, item ``n`` published ``n`` minutes ago (so most are days old).

    Items in ``fresh_matching`` and every ``every_old_matching``-th item mention the probe topic;
    the age rules allow alerts only for those published within the last day.
    """
    now = datetime.now(UTC)
    entries = []
    for n in range(count):
        matching = n in fresh_matching or (n >= 1440 and n % every_old_matching == 0)
        subject = ringing_report(n) if matching else f"Market report no. {n}"
        entries.append(
            item(
                subject,
                guid=f"bulk-{n}",
                link=f"https://bulk.example/reports/{n}",
                description=f"{subject}: figures for district {n % 97}, shift {n % 13}.",
                published=format_datetime(now - timedelta(minutes=n)),
            )
        )
    return rss_document(*entries, title="Bulk Wire")


#: Items every parser meets sooner or later: no link, no guid, twice the same guid, a relative
#: link, a date in the future, a date nobody can read, a relative guid that is the item's link
#: (no isPermaLink="false"), and nothing at all.
ODD_ITEMS = rss_document(
    item("Kestrel ringed at Chernihiv reservoir", guid="odd-no-link", published=_now()),
    item(
        "Kestrel chicks hatch in Lviv botanical garden",
        link="https://odd.example/lviv-chicks",
        published=_now(),
    ),
    item(
        "Kestrel count rises in Odesa region",
        guid="odd-twice",
        link="https://odd.example/odesa-count",
        published=_now(),
    ),
    item(
        "Kestrel flight filmed over Dnipro bridge",
        guid="odd-twice",
        link="https://odd.example/dnipro-flight",
        published=_now(),
    ),
    item(
        "Kestrel recovers at Kharkiv rescue centre",
        guid="odd-relative",
        link="/stories/kharkiv-rescue",
        published=_now(),
    ),
    item("Kestrel festival planned in Poltava", guid="odd-future", published=_now(-60 * 24 * 365)),
    item("Kestrel nest box programme in Sumy", guid="odd-bad-date", published="next Tuesday-ish"),
    item(
        "Kestrel webcam back online in Uzhhorod",
        guid="stories/uzhhorod-webcam",
        guid_is_link=True,
        published=_now(),
    ),
    "<item></item>",
    title="Odd Wire",
)
