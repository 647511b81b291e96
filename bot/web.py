"""The bot's HTTP surface: one Starlette app served by uvicorn inside the bot's event loop.

``/healthz`` (liveness) answers 200 once the bot runs (503 before); ``/readyz`` answers 200 only
while the database answers, the scheduler runs and every platform accepts the bot's credentials;
``/metrics`` is for Prometheus. Chat webhooks and slash commands mount here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator, Sequence
from typing import Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.metrics import CONTENT_TYPE

__all__ = ["WebServer", "build_web_app", "read_body"]

log = logging.getLogger(__name__)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` bytes (read no further than that).

    Webhooks and slash commands come from the internet: a huge body is refused, not buffered.
    """
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class Health(Protocol):
    running: bool

    async def readiness(self) -> dict[str, bool]:
        """Each dependency and whether it is usable now."""
        ...

    async def metrics_text(self) -> bytes: ...


def build_web_app(health: Health, extra: Sequence[BaseRoute] = ()) -> Starlette:
    async def healthz(_: Request) -> Response:
        if health.running:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def readyz(_: Request) -> Response:
        checks = await health.readiness()
        ready = health.running and all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(await health.metrics_text(), media_type=CONTENT_TYPE)

    async def index(_: Request) -> Response:
        return PlainTextResponse("Wirewatch news-alert bot\n")

    routes = [
        Route("/", index),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    return Starlette(routes=[*routes, *extra])


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
