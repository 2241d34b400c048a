"""The Host allow-list, the cross-site check and the client address, case by case."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from assistant.interfaces.api.client_address import client_address, trusted_networks
from assistant.interfaces.api.exposure import is_loopback
from assistant.interfaces.api.same_origin import HostAllowList, is_cross_site


@pytest.mark.parametrize(
    ("allowed", "host", "answered"),
    [
        ([], "localhost:8080", True),
        ([], "127.0.0.1", True),
        ([], "127.0.0.2:80", True),
        ([], "[::1]:8080", True),
        ([], "api.example.com", False),
        ([], "", False),
        ([], "localhost.evil.example", False),
        (["api.example.com"], "API.example.com:443", True),
        (["api.example.com"], "api.example.com.evil.example", False),
        (["*.example.com"], "eu.api.example.com", True),
        (["*.example.com"], "example.com", False),
        (["*.example.com"], "evilexample.com", False),
        (["*"], "anything.example", True),
    ],
)
def test_the_host_allow_list(allowed: list[str], host: str, answered: bool) -> None:
    assert HostAllowList(allowed).allows(host) is answered


@pytest.mark.parametrize(
    ("headers", "cross_site"),
    [
        ({"host": "api.example.com"}, False),  # curl, an SDK: no Origin
        ({"host": "api.example.com", "origin": "https://api.example.com"}, False),
        ({"host": "api.example.com:443", "origin": "https://api.example.com"}, False),
        ({"host": "127.0.0.1:8080", "origin": "http://127.0.0.1:8080"}, False),
        ({"host": "127.0.0.1:8080", "origin": "http://127.0.0.1:3000"}, True),
        ({"host": "localhost:8080", "origin": "http://127.0.0.1:8080"}, True),
        ({"host": "api.example.com", "origin": "https://evil.example"}, True),
        ({"host": "api.example.com", "origin": "null"}, True),
        ({"host": "api.example.com", "origin": "not a url"}, True),
        ({"host": "api.example.com", "sec-fetch-site": "cross-site"}, True),
        ({"host": "api.example.com", "sec-fetch-site": "same-origin"}, False),
    ],
)
def test_the_cross_site_check(headers: dict[str, str], cross_site: bool) -> None:
    assert is_cross_site(Headers(headers=headers)) is cross_site


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("api.example.com", False),
    ],
)
def test_which_addresses_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.5", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client's own claim first
        ("10.0.0.5", "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # two proxies of ours
        ("10.0.0.5", "", "10.0.0.5"),
        ("192.0.2.9", "203.0.113.7", "192.0.2.9"),  # not a proxy of ours: not believed
    ],
)
def test_the_client_address_behind_trusted_proxies(peer: str, forwarded: str, client: str) -> None:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "client": (peer, 1234), "headers": headers}
    assert client_address(scope, trusted_networks(["10.0.0.0/24"])) == client
