"""Entity expansion and external entities (XXE), fed to the running bot.

One bot polls a good feed beside seven feeds whose DTDs are hostile or odd. The hostile ones are
refused before feedparser sees them, with a reason that /feeds and ``wirewatch check-feed`` show;
nothing is fetched from the "intranet" server the entities point at, no file content reaches an
item, the parser workers stay small, and the good feed alerts as usual.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.store.tables import items
from tests.feedserver import FeedServer
from tests.hostile.documents import (
    BILLION_LAUGHS,
    QUADRATIC_BLOWUP,
    SMALL_ENTITY,
    external_dtd,
    external_entity,
    external_parameter_entity,
)
from tests.hostile.newsroom import (
    GOOD_STORY,
    Newsroom,
    clean_environment,
    good_feed,
    newsroom,
    newsroom_settings,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNSAFE = "refused: unsafe DTD"


@dataclass(frozen=True, slots=True)
class Scene:
    room: Newsroom
    intranet: FeedServer
    urls: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    database = tmp_path_factory.mktemp("entities") / "wirewatch.db"
    with (
        clean_environment(),
        FeedServer() as hostile,
        FeedServer() as good,
        FeedServer() as intranet,
    ):
        intranet.set("/secret", "TOP SECRET intranet page", content_type="text/plain")
        intranet.set("/evil.dtd", '<!ENTITY leak SYSTEM "file:///etc/passwd">')
        intranet.set("/rss-0.91.dtd", "<!ELEMENT rss ANY>", content_type="text/plain")
        good.set("/feed.xml", good_feed())
        documents = {
            "laughs": BILLION_LAUGHS,
            "quadratic": QUADRATIC_BLOWUP,
            "xxe-file": external_entity("file:///etc/passwd"),
            "xxe-url": external_entity(intranet.url("/secret")),
            "xxe-oob": external_parameter_entity(intranet.url("/evil.dtd")),
            "dtd": external_dtd(intranet.url("/rss-0.91.dtd")),
            "small": SMALL_ENTITY,
        }
        for name, document in documents.items():
            hostile.set(f"/{name}.xml", document)
        urls = {name: hostile.url(f"/{name}.xml") for name in documents}
        urls["good"] = good.url("/feed.xml")
        settings = newsroom_settings(f"sqlite+aiosqlite:///{database}", list(urls.values()))
        async with newsroom(settings) as room:
            yield Scene(room, intranet, urls)


REFUSALS = {
    "laughs": f'{UNSAFE}: entity &lol1; is built from other entities, the shape of a "billion '
    'laughs" attack',
    "quadratic": f"{UNSAFE}: its entities would expand to 3,815 MiB (limit 1 MiB), the shape of "
    "an entity-expansion attack",
    "xxe-file": f"{UNSAFE}: it declares the external entity &xxe; (file:///etc/passwd); feeds "
    "may not make the bot read files or URLs",
    "xxe-url": f"{UNSAFE}: it declares the external entity &xxe; ({{intranet}}/secret); feeds "
    "may not make the bot read files or URLs",
    "xxe-oob": f"{UNSAFE}: it declares the external entity %remote; ({{intranet}}/evil.dtd); "
    "feeds may not make the bot read files or URLs",
}


async def test_the_good_feed_alerts_beside_the_hostile_ones(scene: Scene) -> None:
    alert = await scene.room.wait_for_alert(GOOD_STORY.title)
    assert GOOD_STORY.link in alert
    good = await scene.room.feed(scene.urls["good"])
    assert (good.error_count, good.last_error) == (0, None)
    assert scene.room.app.running


@pytest.mark.parametrize("name", list(REFUSALS))
async def test_a_hostile_dtd_is_refused_with_its_reason(scene: Scene, name: str) -> None:
    url = scene.urls[name]
    reason = REFUSALS[name].format(intranet=scene.intranet.base_url)

    assert await scene.room.failure(url) == reason
    assert f"failing ({reason})\n  {url}" in await scene.room.feeds_reply()
    checked = await scene.room.check_feed(url)
    assert (checked.status, checked.err, checked.out) == (1, f"{url}: {reason}\n", "")
    assert await scene.room.stored_titles(url) == []
    assert scene.room.app.running


async def test_no_entity_reaches_the_intranet_or_the_file_system(scene: Scene) -> None:
    for name in REFUSALS:
        await scene.room.failure(scene.urls[name])
    await scene.room.wait_for_feed(scene.urls["dtd"], lambda row: row.last_success_at is not None)

    assert scene.intranet.requests == []
    async with scene.room.app.engine.connect() as conn:
        stored = [f"{row.title} {row.summary}" for row in await conn.execute(select(items))]
    printed = "\n".join(scene.room.alerts())
    for leak in ("root:x:0:0", "TOP SECRET", "/bin/", "&xxe;", "lollol"):
        assert not any(leak in text for text in stored), leak
        assert leak not in printed, leak


async def test_an_external_dtd_subset_is_allowed_and_never_loaded(scene: Scene) -> None:
    url = scene.urls["dtd"]
    row = await scene.room.wait_for_feed(url, lambda row: row.last_success_at is not None)
    assert row.error_count == 0
    assert await scene.room.stored_titles(url) == ["Kestrel with a DTD"]
    assert scene.intranet.hits("/rss-0.91.dtd") == 0


async def test_small_plain_text_entities_still_expand(scene: Scene) -> None:
    url = scene.urls["small"]
    await scene.room.wait_for_feed(url, lambda row: row.last_success_at is not None)
    assert await scene.room.stored_titles(url) == ["Kestrel census 2024 published"]
    alert = await scene.room.wait_for_alert("Kestrel census 2024 published")
    assert "&year;" not in alert


async def test_parser_workers_never_grow_with_the_entities(scene: Scene) -> None:
    await scene.room.failure(scene.urls["quadratic"])
    read = (_peak_rss_mib(child.pid) for child in multiprocessing.active_children())
    peaks = [peak for peak in read if peak is not None]
    if not peaks:
        pytest.skip("no /proc to read the parser workers' peak memory from")
    print(f"parser workers' peak memory: {sorted(peaks)} MiB")
    assert max(peaks) < 256


def _peak_rss_mib(pid: int | None) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return None
