"""Benchmark (not a test): what ``wirewatch run`` costs while it waits between polls.

    .venv/bin/python bench/idle.py                  # 100 feeds, 60 s of idle; about 1.5 min
    .venv/bin/python bench/idle.py --quick          # 10 feeds, 5 s: a smoke run
    .venv/bin/python bench/idle.py --database postgresql+asyncpg://postgres@127.0.0.1/idle

What runs: ``python -m bot run`` as a subprocess — the real command, configured only through the
environment — with ``--feeds`` feeds served by ``tests/feedserver.py`` and both platforms pointed
at the local fakes in ``tests/fakes/`` (Telegram long polling, Slack over HTTP), on SQLite in a
temporary folder unless ``--database`` names another. After start-up it waits until every feed
has been polled once, lets the first poll cycle's work settle, then measures ``--seconds`` of idle
(the poll interval, 300 s, is longer than that, so no feed is due):

- **RSS**: resident memory of the bot process and, apart, of its parser worker processes (VmRSS
  in /proc), after start-up and again at the end;
- **CPU**: user + system CPU seconds the bot and its workers used during the idle window
  (/proc/<pid>/stat), and that as a share of one core;
- what it did meanwhile: feed requests (should be 0) and Telegram getUpdates long polls.

Targets (issue "Scale-out"): RSS ≤ 150 MB for the bot process; CPU near zero while idle (here:
under 1 % of one core).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

TARGET_RSS_MB = 150.0
TARGET_CPU_SHARE = 0.01  # of one core
SETTLE_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


def feed_document(n: int) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Idle feed {n}</title><link>https://news.example/{n}</link>"
        "<description>bench feed</description>"
        f"<item><title>Archive note {n}</title><guid>idle-{n}</guid>"
        "<pubDate>Mon, 02 Jan 2023 10:00:00 GMT</pubDate></item></channel></rss>"
    )


def opml(urls: list[str]) -> str:
    outlines = "".join(f'<outline type="rss" text="{n}" xmlUrl="{u}"/>' for n, u in enumerate(urls))
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found + [grandchild for child in found for grandchild in children(child)]


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0
    )
    return kb / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def snapshot(pid: int) -> dict[str, float]:
    workers = children(pid)
    return {
        "rss_bot": rss_mb(pid),
        "rss_workers": sum(rss_mb(worker) for worker in workers),
        "workers": len(workers),
        "cpu_bot": cpu_seconds(pid),
        "cpu_workers": sum(cpu_seconds(worker) for worker in workers),
    }


def start_bot(
    folder: Path, telegram: FakeTelegram, slack: FakeSlack, database: str | None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        PYTHONPATH=str(ROOT),
        WIREWATCH_CONFIG=str(folder / "wirewatch.toml"),
        DATABASE_URL=database or f"sqlite+aiosqlite:///{folder / 'idle.db'}",
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        SLACK_BOT_TOKEN=slack.token,
        SLACK_SIGNING_SECRET="bench-signing-secret",
        SLACK_API_BASE_URL=slack.api_url,
        WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS="true",
        WIREWATCH_HTTP__PORT="0",
    )
    log = (folder / "bot.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=folder, env=env, stdout=log, stderr=log
    )


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"idle bench: {what} not within {timeout:.0f} s")
        time.sleep(0.2)


def measure(options: argparse.Namespace) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="wirewatch-idle-") as name,
        FeedServer() as feeds,
        FakeTelegram() as telegram,
        FakeSlack() as slack,
    ):
        folder = Path(name)
        for n in range(options.feeds):
            feeds.set(f"/feed/{n}.xml", feed_document(n))
        (folder / "feeds.opml").write_text(
            opml([feeds.url(f"/feed/{n}.xml") for n in range(options.feeds)])
        )
        (folder / "wirewatch.toml").write_text('feeds_file = "feeds.opml"\n')
        bot = start_bot(folder, telegram, slack, options.database)
        try:
            started = time.monotonic()
            wait_until(
                lambda: len({r.path for r in feeds.requests}) == options.feeds, 120, "first poll"
            )
            first_cycle = time.monotonic() - started
            time.sleep(SETTLE_SECONDS)
            before, requests, polls = (
                snapshot(bot.pid),
                len(feeds.requests),
                len(telegram.calls("getUpdates")),
            )
            time.sleep(options.seconds)
            after = snapshot(bot.pid)
            if bot.poll() is not None:
                raise SystemExit(f"idle bench: the bot exited ({bot.returncode}); see its log")
            requests = len(feeds.requests) - requests
            polls = len(telegram.calls("getUpdates")) - polls
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(30)
    cpu = (after["cpu_bot"] - before["cpu_bot"]) + (after["cpu_workers"] - before["cpu_workers"])
    return {
        "first_cycle": first_cycle,
        "rss_start": before["rss_bot"],
        "rss_end": after["rss_bot"],
        "rss_workers": after["rss_workers"],
        "workers": after["workers"],
        "cpu": cpu,
        "cpu_bot": after["cpu_bot"] - before["cpu_bot"],
        "share": cpu / options.seconds,
        "requests": requests,
        "long_polls": polls,
    }


def report(figures: dict[str, float], options: argparse.Namespace) -> None:
    f = figures
    rss_ok = "met" if max(f["rss_start"], f["rss_end"]) <= TARGET_RSS_MB else "MISSED"
    cpu_ok = "met" if f["share"] <= TARGET_CPU_SHARE else "MISSED"
    lines = [
        f"feeds {options.feeds}, idle window {options.seconds:.0f} s; "
        f"the first poll of every feed took {f['first_cycle']:.1f} s",
        f"RSS: bot {f['rss_start']:.0f} MB after start-up, {f['rss_end']:.0f} MB at the end "
        f"(target <= {TARGET_RSS_MB:.0f} MB: {rss_ok}); "
        f"parser workers {f['rss_workers']:.0f} MB in {f['workers']:.0f} processes",
        f"CPU while idle: {f['cpu']:.2f} s in {options.seconds:.0f} s = {f['share']:.2%} of a core "
        f"(bot {f['cpu_bot']:.2f} s; target < {TARGET_CPU_SHARE:.0%}: {cpu_ok})",
        f"meanwhile: {f['requests']:.0f} feed requests, {f['long_polls']:.0f} Telegram long polls",
    ]
    if options.markdown:
        lines.append(
            f"| {time.strftime('%Y-%m-%d')} | {options.feeds} | {options.seconds:.0f} s "
            f"| {f['rss_start']:.0f} / {f['rss_end']:.0f} MB | {f['rss_workers']:.0f} MB "
            f"| {f['cpu']:.2f} s = {f['share']:.2%} | {f['requests']:.0f} | {rss_ok}, {cpu_ok} |"
        )
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0, help="idle window to measure")
    parser.add_argument("--database", help="DATABASE_URL (default: SQLite in a temporary folder)")
    parser.add_argument("--quick", action="store_true", help="10 feeds, 5 s: a smoke run")
    parser.add_argument("--markdown", action="store_true", help="also print a table row")
    options = parser.parse_args()
    if options.quick:
        options.feeds, options.seconds = 10, 5.0
    report(measure(options), options)


if __name__ == "__main__":
    main()
