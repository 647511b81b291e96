"""The bot's HTTP surface: one Starlette app served by uvicorn inside the bot's event loop.

``/healthz`` answers 200 once the bot runs (503 before); chat webhooks and metrics mount here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Generator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

__all__ = ["WebServer", "build_web_app"]

log = logging.getLogger(__name__)


def build_web_app(is_running: Callable[[], bool], extra: Sequence[BaseRoute] = ()) -> Starlette:
    async def healthz(_: Request) -> Response:
        if is_running():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def index(_: Request) -> Response:
        return PlainTextResponse("Wirewatch news-alert bot\n")

    return Starlette(routes=[Route("/", index), Route("/healthz", healthz), *extra])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the bot owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class WebServer:
    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int | None:
        """The bound port (useful when configured as 0)."""
        for server in getattr(self._server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the bind error
                raise OSError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info("HTTP server listening on port %s", self.port)

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
