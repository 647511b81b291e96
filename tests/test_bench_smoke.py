"""Every benchmark still runs and prints its figures (smoke tests: no timing is checked)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIGURES = [
    r"^ +10 \| +[\d.]+ s +[\d,]+ +[\d.]+ \| +[\d.]+ s +[\d,]+ \| +[\d.]+×",
    r"^ +1,000 \| +[\d.]+ s +[\d,]+ +[\d.]+ \| +[\d.]+ s +[\d,]+ \| +[\d.]+×",
    r"^results: the matcher and the baseline agree on ([\d,]+) of \1 items checked$",
    r"^cost ratio 1,000 vs 10 topics: [\d.]+× per item \(target ≤ 2× for 10,000 vs 10\): ",
    r"^items/s at 1,000 topics: [\d,]+ on one core \(target ≥ 5,000\): (met|MISSED)$",
    r"^compile 1,000 topics: [\d.]+ s \(target < 2 s for 10,000\): ",
    r"^speed-up over the baseline at 1,000 topics: [\d.]+×$",
    r"^peak memory: [\d,]+ MB RSS \(whole run\); the compiled matcher holds 10 topics [\d.]+ MB",
]


def test_the_match_benchmark_prints_every_figure_in_quick_mode(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "match.py"), "--quick", "--markdown"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for figure in FIGURES:
        assert re.search(figure, result.stdout, re.MULTILINE), f"missing: {figure}\n{result.stdout}"
    assert "| 1,000 |" in result.stdout.split("bench/README.md rows")[1]


# --- the pipeline-stage benchmarks (issue "Performance and scale"): each prints its figures -----

STAGE_FIGURES = {
    "poll.py": [
        r"^first poll: [\d,]+ new feeds of 20 entries in [\d.]+ s",
        r"^poll cycle: [\d,]+ feeds in [\d.]+ s = [\d,]+ requests/s \([\d,]+ × 304, [\d,]+ × 200, "
        r"[\d,]+ busy feeds polled twice, 0 errors\); target ≤ 60 s for 10,000 feeds: (met|MISSED)",
        r"^baseline: bare httpx GET loop, same URLs and concurrency: [\d.]+ s = [\d,]+ requests/s",
        r"^app tick: every 1 s starts at most concurrency \d+ polls",
        r"^peak RSS: [\d,]+ MB = this process [\d,]+ MB \+ parser processes [\d,]+ MB \(VmHWM; "
        r"RUSAGE_CHILDREN says [\d,]+ MB, .*target ≤ 300 MB: (met|MISSED)$",
    ],
    "ingest.py": [
        r"^pipeline: [\d,]+ new items in [\d.]+ s = [\d,]+ new items/s \(parse_feed [\d.]+ s, "
        r"dedupe\+match\+route\+queue [\d.]+ s; "
        r"CPU seconds, [\d.]+ s wall\); [\d,]+ matched, [\d,]+ alerts queued$",
        r"^baseline: feedparser.parse alone on the same bytes: [\d,]+ entries in [\d.]+ s",
        r"^ratio pipeline / feedparser parse: [\d.]+× \(target ≤ 1.5×\): (met|MISSED)$",
        r"^new items/s: [\d,]+ \(target ≥ 2,000\): (met|MISSED)$",
        r"^re-poll of the same bytes: 0 new, ",
    ],
    "deliver.py": [
        r"^telegram: 60 of 60 alerts delivered through the outbox in [\d.]+ s = [\d.]+ msg/s "
        r"\(target ≥ 28/s\): (met|MISSED)$",
        r"^telegram 429s: \d+ answered by the fake, 0 alerts not delivered \(target 0 unhandled\)",
        r"^baseline: raw send_alert to 60 chats at once, no outbox: [\d.]+ s = [\d.]+ msg/s",
        r"^slack: 60 of 60 alerts \(20 channels × 3\) delivered through the outbox in [\d.]+ s",
        r"^baseline: raw send_alert, all channels at once, each in order, no outbox: [\d.]+ s",
    ],
    "latency.py": [
        r"^app: 3 publications → alerts: median [\d.]+ s, p95 [\d.]+ s, min [\d.]+ s, "
        r"max [\d.]+ s$",
        r"^target p95 ≤ interval \+ 2 s = 3 s: (met|MISSED) \(p95 [\d.]+ s\)$",
        r"^baseline: fetch → parse → send by hand right after publishing, 2 times: median [\d.]+ s",
    ],
    "idle.py": [
        r"^RSS: bot \d+ MB after start-up, \d+ MB at the end \(target <= 150 MB: (met|MISSED)\)",
        r"^CPU while idle: [\d.]+ s in \d+ s = [\d.]+% of a core",
    ],
}


def _run_stage_benchmark_quick(script: str, folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    for figure in STAGE_FIGURES[script]:
        assert re.search(figure, result.stdout, re.MULTILINE), f"missing: {figure}\n{result.stdout}"


def test_the_poll_benchmark_prints_its_figures_in_quick_mode(tmp_path: Path) -> None:
    _run_stage_benchmark_quick("poll.py", tmp_path)


def test_the_ingest_benchmark_prints_its_figures_in_quick_mode(tmp_path: Path) -> None:
    _run_stage_benchmark_quick("ingest.py", tmp_path)


def test_the_deliver_benchmark_prints_its_figures_in_quick_mode(tmp_path: Path) -> None:
    _run_stage_benchmark_quick("deliver.py", tmp_path)


def test_the_latency_benchmark_prints_its_figures_in_quick_mode(tmp_path: Path) -> None:
    _run_stage_benchmark_quick("latency.py", tmp_path)


def test_the_idle_benchmark_prints_its_figures_in_quick_mode(tmp_path: Path) -> None:
    _run_stage_benchmark_quick("idle.py", tmp_path)
