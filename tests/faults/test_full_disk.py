"""`wirewatch run` on a full disk: one clear line, exit 2, no traceback.

A disk is filled for real where the test may mount a small tmpfs (root); anywhere, a full disk is
played by a file size limit (``RLIMIT_FSIZE``) on the bot's process, under which every write past
the limit fails as on a full disk (``EFBIG``; ``SIGXFSZ`` is ignored so the write returns an
error instead of killing the process). Each case is tried on a fresh path and on a database
migrated while there was room, where the bot fails on its first writes instead of the migration.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.bot_process import bot_environment

NEEDS = "the bot needs at least 1 MiB"
SHM_BYTES = 32 * 1024  # SQLite's shared-memory index for its WAL: room enough to open the file


def bot(
    command: str, database: Path, max_file_size: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = bot_environment(database)

    def limit_file_size() -> None:
        if max_file_size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_size, max_file_size))

    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        cwd=database.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit_file_size,
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, mounted for the test (root only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("only root mounts a tmpfs; the file size limit cases stand in for it")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the file size limit cases stand in for it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path) -> None:
    """Write zeros until the file system says it is full."""
    with open(disk / "filler", "wb", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
        except OSError:
            pass


def one_clear_line(result: subprocess.CompletedProcess[str], database: Path) -> str:
    """The reason given by the one line the bot printed, after checking the line's form."""
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    verb, _, reason = line.partition(f" the database at {database}: ")
    assert verb in ("wirewatch: cannot open", "wirewatch: cannot write to"), line
    return reason


Arrange = Callable[[Path], Path]


def fresh(folder: Path) -> Path:
    return folder / "wirewatch.db"


def migrated(folder: Path) -> Path:
    database = folder / "wirewatch.db"
    assert bot("migrate", database).returncode == 0
    return database


@pytest.mark.parametrize("arrange", [fresh, migrated])
def test_a_full_disk_is_one_clear_line(small_disk: Path, arrange: Arrange) -> None:
    database = arrange(small_disk)
    fill(small_disk)
    reason = one_clear_line(bot("run", database), database)
    assert reason == f"the disk is full (0 KiB free in {small_disk}; {NEEDS})"


def test_a_nearly_full_disk_is_one_clear_line(small_disk: Path) -> None:
    database = migrated(small_disk)
    fill(small_disk)
    filler = small_disk / "filler"
    os.truncate(filler, filler.stat().st_size - 256 * 1024)  # room for the file, not for a bot
    reason = one_clear_line(bot("run", database), database)
    free = re.fullmatch(
        rf"the disk is full \((\d+) KiB free in {re.escape(str(small_disk))}; {NEEDS}\)", reason
    )
    assert free is not None and 0 < int(free[1]) < 1024, reason


@pytest.mark.parametrize(
    ("arrange", "limit", "line"),
    [
        (fresh, 0, "cannot open the database at {}: disk I/O error"),  # at the migration
        (migrated, SHM_BYTES, "cannot write to the database at {}: disk I/O error"),  # after it
    ],
)
def test_writes_failing_as_on_a_full_disk_are_one_clear_line(
    tmp_path: Path, arrange: Arrange, limit: int, line: str
) -> None:
    database = arrange(tmp_path)
    result = bot("run", database, max_file_size=limit)
    one_clear_line(result, database)
    assert result.stderr.strip() == "wirewatch: " + line.format(database)
