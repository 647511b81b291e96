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

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        """Replace the message ``message_id`` sent for an alert with ``alert`` (more sources).

        Raises ``DeliveryError`` like ``send_alert``; an unchanged message is not an error.
        """
        ...

    async def aclose(self) -> None: ...
