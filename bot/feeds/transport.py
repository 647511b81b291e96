"""The guarded wire: an httpx transport whose every connection has passed ``bot.feeds.guard``.

Per connection, in this order:

1. ``GuardedBackend.connect_tcp`` (an httpcore network backend) resolves the host once with
   ``resolve_safe`` (hosts in ``trusted_origins`` and ``allow_private`` skip the address check),
   within the connect timeout, then connects to the checked IP literals in turn, moving on
   after a connection error. DNS cannot answer differently between the check and the connect,
   which is what defeats DNS rebinding. Unix sockets are always refused.
2. ``GuardedTransport`` plugs that backend into an ``httpcore.AsyncConnectionPool`` (HTTP/1.1)
   and translates requests and responses between httpx and httpcore.
3. httpcore exceptions, raised while connecting or while the body streams, become the httpx
   exceptions ``httpx.AsyncHTTPTransport`` would raise; the guard's own ``UnsafeURLError`` and
   ``FeedError`` pass through untouched.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import typing
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from bot.errors import UnsafeURLError
from bot.feeds.guard import Resolver, normalize_origins, origin_key, resolve_safe

__all__ = ["GuardedBackend", "GuardedTransport"]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that only connects to addresses that passed the guard.

    It resolves the name itself and hands the checked IP literal to the real backend, so DNS
    cannot answer differently between the check and the connect. TLS still uses the host name:
    httpcore passes ``server_hostname`` to ``start_tls`` separately from the connect address.
    Used on asyncio (``resolve_safe`` uses the asyncio loop).
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        trusted_origins: Collection[str] = (),
        resolver: Resolver | None = None,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._trusted = normalize_origins(trusted_origins)
        self._resolver = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        allow = self._allow_private or origin_key(host, port) in self._trusted
        try:
            async with asyncio.timeout(timeout):
                addresses = await resolve_safe(
                    host, port, allow_private=allow, resolver=self._resolver
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise UnsafeURLError("refused: unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


# httpcore exception → the httpx exception httpx.AsyncHTTPTransport would raise for it.
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProxyError: httpx.ProxyError,
}


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = next((_HTTPX_ERRORS[c] for c in type(exc).__mro__ if c in _HTTPX_ERRORS), None)
        if mapped is None:
            raise  # ours (UnsafeURLError, FeedError) or a bug: pass through untouched
        raise mapped(str(exc)) from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: typing.AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            with _httpx_errors():
                await aclose()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~50 ms; a context is safe to share between pools.
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport (HTTP/1.1, connection pool) whose connections go through a guard backend.

    ``httpx.AsyncHTTPTransport`` offers no public way to choose the network backend (only by
    replacing its private ``_pool``), so this builds the public ``httpcore.AsyncConnectionPool``
    itself and does the small httpx ⇄ httpcore translation that transport would have done.
    """

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or _default_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            core_response = await self._pool.handle_async_request(core_request)
        assert isinstance(core_response.stream, typing.AsyncIterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
