"""SSRF guard: which URLs and network addresses a feed fetch may reach.

A feed URL comes from a chat user, so it must not become a way to reach the bot's own network.
The guard applies in two places, in this order:

1. ``check_url`` runs on every URL before it is requested (the subscribed URL and each redirect
   target): only http and https, a host is required, literal IP hosts in any spelling
   (``2130706433``, ``0x7f000001``, ``127.1``, ``[::ffff:127.0.0.1]``, percent-encoded) are
   normalized and refused unless public, and ``localhost`` names are refused. It parses with
   httpx's own URL parser, so the host checked is the host httpx will connect to.
2. ``GuardedBackend`` runs at connect time: it resolves the host once (``resolve_safe``), refuses
   the connection if *any* address is not public, then connects to that checked IP literal
   itself. Checking the address actually connected to is what defeats DNS rebinding.
   ``GuardedTransport`` plugs that backend into httpx.

An address is public when, after unwrapping an IPv4 address embedded in IPv6 (mapped, NAT64,
6to4), it is globally routable: not loopback, private, link-local (cloud metadata), unique- or
site-local, shared (CGNAT), multicast, broadcast, reserved or unspecified.

``allow_private`` (the ``fetch.allow_private_networks`` setting) and ``trusted_origins``
(``"host:port"``, e.g. the demo's own local server) switch the address checks off; the scheme
check always applies.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import unquote

import httpcore
import httpx

from bot.errors import ConfigError, FeedError, UnsafeURLError

__all__ = [
    "GuardedBackend",
    "GuardedTransport",
    "IPAddress",
    "Resolver",
    "check_url",
    "forbidden_reason",
    "is_forbidden_ip",
    "origin_key",
    "resolve_safe",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> IP address strings``; raises ``OSError`` when the name does not resolve."""

DEFAULT_PORTS = {"http": 80, "https": 443}
_NOT_ALLOWED = "(private networks are not allowed)"
_METADATA = ipaddress.IPv4Address("169.254.169.254")
_THIS_NETWORK = ipaddress.IPv4Network("0.0.0.0/8")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_NUMBER = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)\Z")
_HOST_NAME = re.compile(r"[a-z0-9._-]+\Z")


# --- addresses ------------------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to ``ip`` really reaches, for the IPv6 forms that embed one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        # Unwrapped, not refused: IPv6-only hosts reach public IPv4 feeds through DNS64.
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour  # Teredo (2001::/32) needs no unwrapping: the prefix is not global.


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why a fetch must not go to ``ip`` ("a loopback address"), or ``None`` when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # ::ffff:127.0.0.1 *is* 127.0.0.1 on the wire; Python < 3.13 does not call it loopback.
            reason = forbidden_reason(embedded)
            return None if reason is None else f"an IPv6 form of {embedded}, {reason}"
    v4 = isinstance(ip, ipaddress.IPv4Address)
    reasons = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_unspecified or (v4 and ip in _THIS_NETWORK), "an unspecified address"),
        (ip == _METADATA, "the cloud metadata address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip == _BROADCAST, "the broadcast address"),
        (v4 and ip in _SHARED, "a shared (carrier-grade NAT) address"),
        (not v4 and ip in _UNIQUE_LOCAL, "a unique-local address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for forbidden, reason in reasons if forbidden), None)


def is_forbidden_ip(ip: IPAddress) -> bool:
    """True when ``ip`` is anything but a globally routable unicast address."""
    return forbidden_reason(ip) is not None


def origin_key(host: str, port: int) -> str:
    """``"host:port"`` as ``trusted_origins`` spells it: lower case, IPv6 without brackets."""
    return f"{host.strip('[]').lower()}:{port}"


def _normalize_origins(origins: Iterable[str]) -> frozenset[str]:
    normalized = set()
    for origin in origins:
        host, _, port = origin.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"trusted origin {origin!r} must be written host:port")
        normalized.add(origin_key(host, int(port)))
    return frozenset(normalized)


# --- URLs -----------------------------------------------------------------------------------


def _ipv4_number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)
    return int(part, 10)


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Parse the IPv4 spellings browsers and ``inet_aton`` accept (``127.1``, ``0x7f000001``…).

    Returns ``None`` for a host name. As in the WHATWG URL standard, a host whose last label is
    a number must be a valid IPv4 address, so ``1.2.3.4.5`` or ``999.1.1.1`` are refused.
    """
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _IPV4_NUMBER.match(parts[-1]):
        return None
    invalid = UnsafeURLError(f"refused: {host} is not a valid IPv4 address")
    if len(parts) > 4 or not all(_IPV4_NUMBER.match(part) for part in parts):
        raise invalid
    try:
        numbers = [_ipv4_number(part) for part in parts]
    except ValueError:  # "08" is neither octal nor decimal
        raise invalid from None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (4 - len(leading)):
        raise invalid
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _parse_ip(host: str) -> IPAddress | None:
    if ":" not in host:
        return _parse_ipv4(host)
    try:
        return ipaddress.IPv6Address(host)
    except ValueError:
        raise UnsafeURLError(f"refused: {host} is not a valid IPv6 address") from None


def _refusal(host: str, ip: IPAddress, reason: str) -> UnsafeURLError:
    if host == str(ip):
        return UnsafeURLError(f"refused: {ip} is {reason} {_NOT_ALLOWED}")
    return UnsafeURLError(f"refused: {host} resolves to {ip}, which is {reason} {_NOT_ALLOWED}")


def check_url(url: str, *, allow_private: bool, trusted_origins: Collection[str] = ()) -> str:
    """Validate a feed URL before any request and return it normalized.

    Raises ``UnsafeURLError`` for other schemes, a missing host, ``localhost`` names and literal
    IP hosts that are not public (unless ``allow_private`` or the origin is trusted). Host names
    are only checked later, on the addresses they resolve to (see ``GuardedBackend``).
    """
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in DEFAULT_PORTS:
        if not parsed.scheme:
            raise UnsafeURLError(
                f"not a feed URL: {url!r} (it must start with http:// or https://)"
            )
        raise UnsafeURLError(
            f"unsupported URL scheme '{parsed.scheme}': only http and https feeds are allowed"
        )
    # WHATWG decodes %xx in hosts, so "%31%32%37.0.0.1" must be treated as 127.0.0.1.
    host = unquote(parsed.host).lower().removesuffix(".")
    if not host:
        raise UnsafeURLError(f"not a valid URL: {url!r} has no host")
    ip = _parse_ip(host)
    if ip is not None:
        host = str(ip)
    elif host.isascii() and not _HOST_NAME.match(host):
        raise UnsafeURLError(f"not a valid URL: {host!r} is not a host name")
    try:
        parsed = parsed.copy_with(host=host)
    except httpx.InvalidURL as exc:
        raise UnsafeURLError(f"not a valid URL: {exc}") from None

    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if allow_private or origin_key(host, port) in _normalize_origins(trusted_origins):
        return str(parsed)
    if ip is not None and (reason := forbidden_reason(ip)) is not None:
        raise _refusal(host, ip, reason)
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeURLError(f"refused: {host} is a local host name {_NOT_ALLOWED}")
    return str(parsed)


# --- resolution and connection --------------------------------------------------------------


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the event loop's ``getaddrinfo`` (in a thread, so the loop keeps running)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve_safe(
    host: str, port: int, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing if *any* of them is not public.

    Refusing on any (not only the first) keeps a name with one public and one private answer
    from reaching the private one on a retry or a happy-eyeballs fallback.
    """
    try:
        if _is_ip_literal(host):  # nothing to ask DNS (nor a test resolver) about
            addresses = [host]
        else:
            addresses = list(dict.fromkeys(await (resolver or system_resolver)(host, port)))
    except (OSError, UnicodeError):
        raise FeedError(f"could not resolve host {host}") from None
    if not addresses:
        raise FeedError(f"could not resolve host {host}")
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if (reason := forbidden_reason(ip)) is not None:
                raise _refusal(host, ip, reason)
    return addresses


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
        self._trusted = _normalize_origins(trusted_origins)
        self._resolver = resolver
        self._backend = backend or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
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
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
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
