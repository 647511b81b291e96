"""SSRF policy: which URLs and network addresses a feed fetch may reach.

A feed URL comes from a chat user, so it must not become a way to reach the bot's own network.
This module decides; ``bot.feeds.transport`` enforces the decision on the wire. The policy
applies in two places, in this order:

1. ``check_url`` runs on every URL before it is requested (the subscribed URL and each redirect
   target): only http and https, a host is required, literal IP hosts in any spelling
   (``2130706433``, ``0x7f000001``, ``127.1``, ``[::ffff:127.0.0.1]``, percent-encoded) are
   normalized and refused unless public, and ``localhost`` names are refused. It parses with
   httpx's URL parser; the fetcher hands the normalized URL to aiohttp only when aiohttp's parser
   (yarl) reads the same host and port, so the host checked is the host connected to.
2. ``resolve_safe`` runs at connect time (called by ``bot.feeds.transport.GuardedResolver``): it
   resolves the host once (``system_resolver`` or a given ``Resolver``) and refuses if *any*
   address is not public; the connection then goes to those checked IP literals only, and each
   socket's address is checked again just before it connects. Checking the address actually
   connected to is what defeats DNS rebinding.

An address is public when, after unwrapping an IPv4 address embedded in IPv6 (mapped, NAT64,
6to4), it is globally routable: not loopback, private, link-local (cloud metadata), unique- or
site-local, shared (CGNAT), multicast, broadcast, reserved or unspecified.

``allow_private`` (the ``fetch.allow_private_networks`` setting) and ``trusted_origins``
(``"host:port"``, e.g. the demo's own local server) switch the address checks off; the scheme
check always applies.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Collection, Iterable
from urllib.parse import unquote

import httpx

from bot.errors import ConfigError, FeedError, UnsafeURLError

__all__ = [
    "DEFAULT_PORTS",
    "IPAddress",
    "Resolver",
    "check_url",
    "forbidden_reason",
    "is_forbidden_ip",
    "normalize_origins",
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


def normalize_origins(origins: Iterable[str]) -> frozenset[str]:
    """``trusted_origins`` as ``origin_key`` spells them; ``ConfigError`` for a malformed one."""
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
    are only checked later, on the addresses they resolve to (see ``resolve_safe``).
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
    if allow_private or origin_key(host, port) in normalize_origins(trusted_origins):
        return str(parsed)
    if ip is not None and (reason := forbidden_reason(ip)) is not None:
        raise _refusal(host, ip, reason)
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeURLError(f"refused: {host} is a local host name {_NOT_ALLOWED}")
    return str(parsed)


# --- resolution -----------------------------------------------------------------------------


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
