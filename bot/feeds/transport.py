"""The guarded wire: an aiohttp connector whose every connection has passed ``bot.feeds.guard``.

Per connection, in this order:

1. ``GuardedResolver.resolve`` (aiohttp's resolver hook) resolves the host once with
   ``resolve_safe`` (hosts in ``trusted_origins`` and ``allow_private`` skip the address check),
   within the connect timeout, and gives aiohttp only the checked IP literals. aiohttp connects
   to those and nothing else, so DNS cannot answer differently between the check and the
   connect, which is what defeats DNS rebinding. aiohttp's DNS cache is off: every new
   connection asks again.
2. ``GuardedResolver.socket_for`` (the connector's socket factory) checks the address each
   socket is about to connect to, however it was found (a literal IP host skips the resolver),
   and refuses a forbidden one before the connect: a second look, at the address actually
   connected to.
3. ``guarded_connector`` builds the ``aiohttp.TCPConnector`` (HTTP/1.1, keep-alive pool) on both.
   A TCP connector cannot reach unix sockets; the session must keep ``trust_env`` off, since an
   environment proxy would connect on our behalf, past the guard.

The guard's own ``UnsafeURLError`` and ``FeedError`` pass through aiohttp untouched.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Collection

import aiohttp
import httpx
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.errors import UnsafeURLError
from bot.feeds.guard import Resolver, forbidden_reason, normalize_origins, origin_key, resolve_safe

__all__ = ["GuardedResolver", "guarded_connector"]

_NOT_ALLOWED = "(private networks are not allowed)"


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver hook, answering only with addresses that passed the guard.

    Also the connector's socket factory (``socket_for``), which sees the address each socket
    connects to. Addresses it let through for a trusted origin by name are remembered, so the
    socket check lets exactly those through too.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        trusted_origins: Collection[str] = (),
        resolver: Resolver | None = None,
        timeout: float | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._trusted = normalize_origins(trusted_origins)
        self._resolver = resolver
        self._timeout = timeout
        self._trusted_addresses: set[str] = set()  # "ip:port" resolved for a trusted origin

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The checked addresses of ``host``; ``FeedError`` / ``UnsafeURLError`` otherwise.

        Raises ``TimeoutError`` (aiohttp's connect timeout) when DNS takes too long.
        """
        trusted = origin_key(host, port) in self._trusted
        async with asyncio.timeout(self._timeout):
            addresses = await resolve_safe(
                host, port, allow_private=self._allow_private or trusted, resolver=self._resolver
            )
        if trusted:
            self._trusted_addresses.update(origin_key(address, port) for address in addresses)
        return [_result(host, address, port) for address in addresses]

    async def close(self) -> None:
        pass

    def socket_for(self, addr_info: AddrInfoType) -> socket.socket:
        """A socket for ``addr_info``, after checking the address it is about to connect to."""
        family, kind, proto, _, address = addr_info
        self._check_connect(str(address[0]), int(address[1]))
        return socket.socket(family=family, type=kind, proto=proto)

    def _check_connect(self, address: str, port: int) -> None:
        if self._allow_private:
            return
        key = origin_key(address, port)
        if key in self._trusted or key in self._trusted_addresses:
            return
        reason = forbidden_reason(ipaddress.ip_address(address))
        if reason is not None:
            raise UnsafeURLError(f"refused: connecting to {address}, {reason} {_NOT_ALLOWED}")


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return {
        "hostname": host,
        "host": address,
        "port": port,
        "family": family,
        "proto": 0,
        "flags": socket.AI_NUMERICHOST,
    }


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # The certifi bundle, as before; loading it takes ~50 ms, and a context is safe to share.
    return httpx.create_ssl_context()


def guarded_connector(
    *,
    allow_private: bool = False,
    trusted_origins: Collection[str] = (),
    resolver: Resolver | None = None,
    connect_timeout: float | None = None,
    max_connections: int = 100,
) -> aiohttp.TCPConnector:
    """A keep-alive connection pool whose every connection goes through a ``GuardedResolver``.

    Must be called with an event loop running (aiohttp binds the connector to it).
    """
    guard = GuardedResolver(
        allow_private=allow_private,
        trusted_origins=trusted_origins,
        resolver=resolver,
        timeout=connect_timeout,
    )
    return aiohttp.TCPConnector(
        resolver=guard,
        use_dns_cache=False,
        socket_factory=guard.socket_for,
        ssl=_default_ssl_context(),
        limit=max_connections,
        limit_per_host=0,  # the fetcher keeps its own per-host cap
    )
