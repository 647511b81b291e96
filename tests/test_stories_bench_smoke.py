"""The stories benchmark runs and prints its figures (a smoke run; the real one is by hand)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_prints_engine_baseline_and_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stories.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = result.stdout
    assert re.search(r"^engine: .* items/s .*; peak RSS \d+ MB", out, re.MULTILINE), out
    assert re.search(
        r"^baseline: all-pairs, .* items/s; .* ratio engine/baseline [\d.]+x", out, re.MULTILINE
    ), out
    assert re.search(r"^quality: .*engine vs all-pairs P [\d.]+ R [\d.]+", out, re.MULTILINE), out
