"""The SSRF guard: which feed URLs and addresses a user may make the bot fetch.

No network: literal URLs are judged without DNS, and names are resolved by a ``StaticResolver``
(or /etc/hosts for ``localhost``).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohappyeyeballs import AddrInfoType

from bot.errors import ConfigError, FeedError, UnsafeURLError
from bot.feeds.guard import check_url, forbidden_reason, is_forbidden_ip, resolve_safe
from bot.feeds.transport import GuardedResolver
from tests.feedserver import StaticResolver

LOOPBACK = "127.0.0.1 is a loopback address (private networks are not allowed)"

# Every spelling of a non-public host a user could paste, and what they are told.
FORBIDDEN_URLS = [
    ("http://127.0.0.1/feed", f"refused: {LOOPBACK}"),
    ("http://localhost/feed", "refused: localhost is a local host name"),
    ("http://LOCALHOST./feed", "refused: localhost is a local host name"),
    ("http://feeds.localhost/", "refused: feeds.localhost is a local host name"),
    ("http://0.0.0.0/", "refused: 0.0.0.0 is an unspecified address"),
    ("http://0.1.2.3/", "refused: 0.1.2.3 is an unspecified address"),
    ("http://[::]/", "refused: :: is an unspecified address"),
    ("http://[::1]/", "refused: ::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "is an IPv6 form of 127.0.0.1, a loopback address"),
    ("http://2130706433/", f"refused: {LOOPBACK}"),
    ("http://0x7f000001/", f"refused: {LOOPBACK}"),
    ("http://017700000001/", f"refused: {LOOPBACK}"),
    ("http://127.1/", f"refused: {LOOPBACK}"),
    ("http://127.0.0.1.:8080/", f"refused: {LOOPBACK}"),
    ("http://a@127.0.0.1/", f"refused: {LOOPBACK}"),
    ("http://example.org:pw@127.0.0.1/", f"refused: {LOOPBACK}"),
    ("http://%31%32%37.0.0.1/", f"refused: {LOOPBACK}"),
    ("http://10.1.2.3/", "refused: 10.1.2.3 is a private address"),
    ("http://172.16.0.1/", "refused: 172.16.0.1 is a private address"),
    ("http://192.168.1.1/", "refused: 192.168.1.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address"),
    ("http://169.254.1.1/", "refused: 169.254.1.1 is a link-local address"),
    ("http://[fd00::1]/", "refused: fd00::1 is a unique-local address"),
    ("http://[fe80::1]/", "refused: fe80::1 is a link-local address"),
    ("http://100.64.0.1/", "refused: 100.64.0.1 is a shared (carrier-grade NAT) address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "IPv6 form of 169.254.169.254, the cloud metadata address"),
    ("http://[2002:7f00:1::]/", "IPv6 form of 127.0.0.1, a loopback address"),
    ("http://224.0.0.1/", "refused: 224.0.0.1 is a multicast address"),
    ("http://255.255.255.255/", "refused: 255.255.255.255 is the broadcast address"),
    ("http://240.0.0.1/", "refused: 240.0.0.1 is a private address"),
]

BAD_SCHEMES = [
    ("file:///etc/passwd", "file"),
    ("ftp://example.org/feed.xml", "ftp"),
    ("gopher://example.org/", "gopher"),
    ("data:application/rss+xml,<rss/>", "data"),
    ("javascript:alert(1)", "javascript"),
]


@pytest.mark.parametrize(("url", "message"), FORBIDDEN_URLS)
def test_private_and_local_hosts_are_refused_before_any_dns(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError, match=r"^refused: ") as refused:
        check_url(url, allow_private=False)
    assert message in str(refused.value)
    assert refused.value.permanent


def test_refusal_reads_as_one_plain_sentence() -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url("http://127.0.0.1/feed", allow_private=False)
    assert str(refused.value) == f"refused: {LOOPBACK}"


@pytest.mark.parametrize(("url", "scheme"), BAD_SCHEMES)
def test_only_http_and_https_are_fetched_even_when_private_networks_are_allowed(
    url: str, scheme: str
) -> None:
    expected = f"unsupported URL scheme '{scheme}': only http and https feeds are allowed"
    with pytest.raises(UnsafeURLError) as refused:
        check_url(url, allow_private=True)
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://1.2.3.4.5/", "refused: 1.2.3.4.5 is not a valid IPv4 address"),
        ("http://256.1/", "refused: 256.1 is not a valid IPv4 address"),
        ("http://08.1/", "refused: 08.1 is not a valid IPv4 address"),
        # httpx itself rejects dotted quads Python cannot parse (leading zeros, > 255).
        ("http://0177.0.0.1/", "not a valid URL: Invalid IPv4 address"),
        ("http://256.0.0.1/", "not a valid URL: Invalid IPv4 address"),
        ("http://example.123/", "refused: example.123 is not a valid IPv4 address"),
        ("http:///feed.xml", "has no host"),
        ("example.org/feed.xml", "it must start with http:// or https://"),
        ("http://%2f%2fevil/", "is not a host name"),
    ],
)
def test_malformed_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(UnsafeURLError) as refused:
        check_url(url, allow_private=True)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("http://2130706433/feed", "http://127.0.0.1/feed"),
        ("http://0x7f000001/feed", "http://127.0.0.1/feed"),
        ("http://017700000001/feed", "http://127.0.0.1/feed"),
        ("http://127.1:8080/feed", "http://127.0.0.1:8080/feed"),
        ("http://%31%32%37.0.0.1/feed", "http://127.0.0.1/feed"),
        ("http://[::ffff:127.0.0.1]/feed", "http://[::ffff:7f00:1]/feed"),
        ("  HTTP://News.Example.ORG.:80/feed?a=1  ", "http://news.example.org/feed?a=1"),
        ("https://bücher.example/feed", "https://xn--bcher-kva.example/feed"),
    ],
)
def test_allowed_urls_come_back_normalized(url: str, normalized: str) -> None:
    assert check_url(url, allow_private=True) == normalized


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/feed.xml",
        "https://example.org/feed.xml",
        "https://news.example.org:8443/rss?lang=uk",
        "http://[2606:4700::1111]/feed",
        "http://[::ffff:93.184.216.34]/feed",
        "http://[64:ff9b::5db8:d822]/feed",  # NAT64 form of 93.184.216.34
        "http://reader@example.org/private-feed",
    ],
)
def test_public_addresses_and_names_pass(url: str) -> None:
    check_url(url, allow_private=False)


def test_trusted_origin_is_exempt_only_on_its_own_port() -> None:
    trusted = frozenset({"127.0.0.1:8765", "[::1]:8765"})
    assert check_url("http://127.0.0.1:8765/f", allow_private=False, trusted_origins=trusted)
    assert check_url("http://[::1]:8765/f", allow_private=False, trusted_origins=trusted)
    with pytest.raises(UnsafeURLError):
        check_url("http://127.0.0.1:8766/f", allow_private=False, trusted_origins=trusted)


def test_badly_written_trusted_origin_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="host:port"):
        check_url("http://127.0.0.1/", allow_private=False, trusted_origins={"127.0.0.1"})


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("8.8.8.8", False),
        ("93.184.216.34", False),
        ("2606:4700::1111", False),
        ("::ffff:8.8.8.8", False),
        ("64:ff9b::808:808", False),
        ("2002:808:808::1", False),
        ("127.0.0.1", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("::127.0.0.1", True),  # deprecated IPv4-compatible form
        ("64:ff9b::a9fe:a9fe", True),
        ("64:ff9b:1::a00:1", True),  # local-use NAT64 prefix
        ("2002:a00:1::", True),  # 6to4 of 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", True),  # Teredo
        ("fec0::1", True),  # deprecated site-local
        ("ff02::1", True),
        ("2001:db8::1", True),  # documentation
        ("192.0.2.1", True),
        ("198.18.0.1", True),  # benchmarking
        ("0.0.0.0", True),
        ("::", True),
    ],
)
def test_only_globally_routable_addresses_are_allowed(address: str, forbidden: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert is_forbidden_ip(ip) is forbidden
    assert (forbidden_reason(ip) is not None) is forbidden


async def test_name_resolving_to_a_private_address_is_refused() -> None:
    dns = StaticResolver({"intranet.example.test": ["10.0.0.5"]})
    with pytest.raises(UnsafeURLError) as refused:
        await resolve_safe("intranet.example.test", 80, allow_private=False, resolver=dns)
    assert str(refused.value) == (
        "refused: intranet.example.test resolves to 10.0.0.5, which is a private address "
        "(private networks are not allowed)"
    )


async def test_one_private_answer_among_public_ones_is_enough_to_refuse() -> None:
    dns = StaticResolver({"split.example.test": ["93.184.216.34", "::1"]})
    with pytest.raises(UnsafeURLError, match="resolves to ::1, which is a loopback address"):
        await resolve_safe("split.example.test", 443, allow_private=False, resolver=dns)


async def test_public_answers_are_returned_once_each_in_order() -> None:
    dns = StaticResolver(
        {"news.example.test": ["93.184.216.34", "2606:4700::1111", "93.184.216.34"]}
    )
    addresses = await resolve_safe("news.example.test", 443, allow_private=False, resolver=dns)
    assert addresses == ["93.184.216.34", "2606:4700::1111"]


async def test_private_answers_pass_when_private_networks_are_allowed() -> None:
    dns = StaticResolver({"intranet.example.test": ["10.0.0.5"]})
    assert await resolve_safe("intranet.example.test", 80, allow_private=True, resolver=dns) == [
        "10.0.0.5"
    ]


@pytest.mark.parametrize("records", [{}, {"gone.example.test": []}])
async def test_unknown_name_is_a_plain_dns_error_not_a_refusal(
    records: dict[str, list[str]],
) -> None:
    with pytest.raises(FeedError) as failed:
        await resolve_safe(
            "gone.example.test", 80, allow_private=False, resolver=StaticResolver(records)
        )
    assert str(failed.value) == "could not resolve host gone.example.test"
    assert not isinstance(failed.value, UnsafeURLError)


async def test_system_resolver_answer_for_localhost_is_refused() -> None:
    # Real getaddrinfo, answered from /etc/hosts: a name that is not literally "localhost" but
    # resolves to loopback is caught the same way.
    with pytest.raises(UnsafeURLError, match="loopback address"):
        await resolve_safe("localhost", 80, allow_private=False)


# --- the connect-time checks of the guarded connector ---------------------------------------


def tcp(address: str, port: int) -> AddrInfoType:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, port, 0, 0) if ":" in address else (address, port)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.5", "a private address"),
        ("169.254.169.254", "the cloud metadata address"),
        ("::ffff:127.0.0.1", "an IPv6 form of 127.0.0.1"),
    ],
)
def test_no_socket_connects_to_a_forbidden_address_whatever_led_there(
    address: str, reason: str
) -> None:
    guard = GuardedResolver()
    with pytest.raises(UnsafeURLError) as refused:
        guard.socket_for(tcp(address, 80))
    assert str(refused.value).startswith(f"refused: connecting to {address}, {reason}")


def test_a_socket_to_a_public_address_is_made() -> None:
    with GuardedResolver().socket_for(tcp("93.184.216.34", 443)) as made:
        assert made.family == socket.AF_INET


async def test_the_connector_is_given_only_checked_addresses() -> None:
    dns = StaticResolver({"news.example.test": ["93.184.216.34", "2606:4700::1111"]})
    answers = await GuardedResolver(resolver=dns).resolve("news.example.test", 443)
    assert [(a["host"], a["port"], a["hostname"]) for a in answers] == [
        ("93.184.216.34", 443, "news.example.test"),
        ("2606:4700::1111", 443, "news.example.test"),
    ]
    inside = GuardedResolver(resolver=StaticResolver({"in.example.test": ["10.0.0.5"]}))
    with pytest.raises(UnsafeURLError, match=r"resolves to 10\.0\.0\.5"):
        await inside.resolve("in.example.test", 80)


async def test_a_trusted_origin_opens_its_own_addresses_and_port_only() -> None:
    dns = StaticResolver({"demo.example.test": ["127.0.0.1"]})
    guard = GuardedResolver(trusted_origins={"demo.example.test:8765"}, resolver=dns)
    await guard.resolve("demo.example.test", 8765)
    guard.socket_for(tcp("127.0.0.1", 8765)).close()
    with pytest.raises(UnsafeURLError):
        guard.socket_for(tcp("127.0.0.1", 8766))
    with pytest.raises(UnsafeURLError):
        await guard.resolve("demo.example.test", 8766)
