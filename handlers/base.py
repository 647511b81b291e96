"""What a chat platform's binding offers the composition root.

A binding is the inbound side of a platform — commands, button presses, membership changes — and
owns whatever transport that needs (long polling, Socket Mode, or webhook routes on the bot's own
HTTP server). Outbound alerts go through the platform's ``Channel`` in ``bot/chat``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.routing import BaseRoute

__all__ = ["Binding"]


class Binding(Protocol):
    @property
    def routes(self) -> Sequence[BaseRoute]:
        """HTTP endpoints to mount on the bot's server (webhooks, slash commands)."""
        ...

    async def start(self) -> None:
        """Begin receiving updates (after the store is ready)."""
        ...

    async def stop(self) -> None:
        """Stop receiving; finish or abandon what is in flight within a few seconds."""
        ...
