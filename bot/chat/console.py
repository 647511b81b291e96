"""The console channel: alerts printed to a terminal when no chat platform is configured."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.delivery.render import render_alert_text
from bot.model import Alert, ChatRef, Platform

__all__ = ["CONSOLE_CHAT", "UPDATE_MARK", "ConsoleChannel"]

CONSOLE_CHAT = ChatRef(Platform.CONSOLE, "terminal")
SEPARATOR = "─" * 72
UPDATE_MARK = "↻ more sources for alert"


class ConsoleChannel:
    platform = Platform.CONSOLE

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._count = 0

    async def send_alert(self, alert: Alert) -> str | None:
        stream = self._stream or sys.stdout
        stream.write(f"{SEPARATOR}\n{render_alert_text(alert)}\n")
        stream.flush()
        self._count += 1
        return str(self._count)

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        """A terminal cannot change what it printed: the alert is printed again, marked."""
        stream = self._stream or sys.stdout
        stream.write(f"{SEPARATOR}\n{UPDATE_MARK} {message_id}\n{render_alert_text(alert)}\n")
        stream.flush()

    async def aclose(self) -> None:
        return None
