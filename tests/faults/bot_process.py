"""The environment of a ``python -m bot`` process in the fault tests: this checkout, one SQLite
file, no HTTP server, no default feeds, and none of the developer's own Wirewatch settings."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bot_environment(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        WIREWATCH_HTTP__ENABLED="false",
        WIREWATCH_FEEDS_FILE="",
    )
    return env
