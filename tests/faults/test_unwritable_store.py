"""`wirewatch run` on a database it cannot create: one clear line, exit 2, no traceback.

Tests often run as root, whom ``chmod`` does not stop, so each case is one that fails for root
too: a folder in the path that is really a file, a database path that is a folder, and a folder
the kernel refuses to anyone (``/proc``). A folder made read-only by ``chmod 0500`` is tried as
well when the test is not root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.bot_process import bot_environment


def run_bot(database: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = bot_environment(database)
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def under_a_file(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "data").write_text("not a folder")
    return tmp_path / "data" / "wirewatch.db", "is not a folder (part of that path is a file)"


def a_folder(tmp_path: Path) -> tuple[Path, str]:
    (tmp_path / "wirewatch.db").mkdir()
    return tmp_path / "wirewatch.db", "unable to open database file"


def refused_by_the_kernel(tmp_path: Path) -> tuple[Path, str]:
    return Path("/proc/self/wirewatch.db"), "unable to open database file"


def read_only_folder(tmp_path: Path) -> tuple[Path, str]:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; the other cases stand in for it")
    folder = tmp_path / "data"
    folder.mkdir(mode=0o500)
    return folder / "wirewatch.db", "unable to open database file"


@pytest.mark.parametrize("place", [under_a_file, a_folder, refused_by_the_kernel, read_only_folder])
def test_an_unwritable_database_is_one_clear_line(
    tmp_path: Path, place: Callable[[Path], tuple[Path, str]]
) -> None:
    database, reason = place(tmp_path)
    result = run_bot(database, tmp_path)

    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"wirewatch: cannot open the database at {database}: ")
    assert line.endswith(reason)
    assert "Traceback" not in result.stderr + result.stdout
