"""Where the bundled defaults live: beside the installed code, never the working directory.

A wheel carries ``config/`` as ``bot/_config``; a source checkout (or an editable install) reads the
top-level ``config/`` folder directly.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_config_dir"]

_PACKAGE = Path(__file__).resolve().parent


def bundled_config_dir() -> Path:
    """The folder holding wirewatch.toml, topics.toml, feeds.opml and samples/."""
    installed = _PACKAGE / "_config"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "config"
