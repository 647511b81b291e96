"""The one protocol every chat adapter implements; the core never imports a platform library."""

from __future__ import annotations

from typing import Protocol

from bot.model import Alert, Platform

__all__ = ["Channel"]


class Channel(Protocol):
    platform: Platform

    async def send_alert(self, alert: Alert) -> str | None:
        """Deliver one alert; return the platform's message id when it has one.

        Raises ``DeliveryError`` (``permanent`` or with ``retry_after``) when the platform refuses.
        """
        ...

    async def aclose(self) -> None: ...
