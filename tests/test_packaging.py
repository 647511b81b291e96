"""An installed wheel carries everything the bot reads at run time, not only the code."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_config_topics_places_and_samples(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("wirewatch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "bot/_config/wirewatch.toml",
        "bot/_config/topics.toml",
        "bot/_config/places.toml",
        "bot/_config/feeds.opml",
        "bot/store/migrations/env.py",
        "bot/store/migrations/versions/0001_initial_schema.py",
        "handlers/commands.py",
    ):
        assert needed in names
    samples = [name for name in names if name.startswith("bot/_config/samples/")]
    assert len(samples) >= 4
