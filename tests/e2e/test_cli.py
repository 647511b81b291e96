"""The ``wirewatch`` command as a person runs it, in a subprocess, from a foreign directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.feeds import TALKS, rss
from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parents[2]


def wirewatch(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = wirewatch("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("run", "demo", "check-feed", "import-opml", "export-opml", "migrate", "match"):
        assert command in result.stdout
    sub = wirewatch("check-feed", "--help", cwd=tmp_path)
    assert "fetch and parse one feed" in sub.stdout


def test_version(tmp_path: Path) -> None:
    result = wirewatch("--version", cwd=tmp_path)
    assert result.stdout.startswith("wirewatch ")


def test_an_invalid_setting_stops_start_up_with_one_clear_line(tmp_path: Path) -> None:
    result = wirewatch("run", cwd=tmp_path, env={"WIREWATCH_POLL__INTERVAL": "often"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "poll.interval" in lines[0] and "WIREWATCH_POLL__INTERVAL" in lines[0]


def test_demo_prints_alerts_for_both_builtin_topics_offline(tmp_path: Path) -> None:
    started = time.monotonic()
    result = wirewatch("demo", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    out = result.stdout
    assert "Mariupol evacuation" in out
    assert "Peace talks" in out
    assert "http" in out
    assert not (tmp_path / "data").exists(), "the demo must not leave a database behind"


def test_check_feed_prints_items_or_a_clear_error(tmp_path: Path) -> None:
    with FeedServer() as server:
        server.set("/feed.xml", rss(TALKS))
        server.set("/nope.xml", "missing", status=404, content_type="text/plain")
        allow = {"WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS": "true"}
        good = wirewatch("check-feed", server.url("/feed.xml"), cwd=tmp_path, env=allow)
        bad = wirewatch("check-feed", server.url("/nope.xml"), cwd=tmp_path, env=allow)
        guarded = wirewatch("check-feed", server.url("/feed.xml"), cwd=tmp_path)
    assert good.returncode == 0 and TALKS.title in good.stdout
    assert bad.returncode == 1 and "404" in bad.stderr
    assert guarded.returncode == 1 and "127.0.0.1" in guarded.stderr


def test_opml_import_then_export_round_trips(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        '<outline text="News"><outline type="rss" text="Kyiv Wire" '
        'xmlUrl="https://kyiv-wire.example/rss"/></outline></body></opml>'
    )
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ww.db"}
    imported = wirewatch("import-opml", str(opml), cwd=tmp_path, env=env)
    exported = wirewatch("export-opml", cwd=tmp_path, env=env)
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 new feeds" in imported.stdout
    assert 'xmlUrl="https://kyiv-wire.example/rss"' in exported.stdout


def test_run_serves_healthz_and_stops_on_sigterm_within_5_s(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "WIREWATCH_HTTP__PORT": str(port),
        "WIREWATCH_FEEDS_FILE": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/ww.db",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = _wait_for_health(port)
        assert status == 200
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        process.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for_health(port: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                return int(reply.status)
        except OSError:
            time.sleep(0.1)
    pytest.fail("the bot never answered /healthz")
