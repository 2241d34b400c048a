"""What the crawler may fetch: hosts whose addresses are public (unless allowed), redirect
hops that stay on the site, and bodies read only up to a cap of decompressed bytes."""

from __future__ import annotations

import ipaddress
import socket
import zlib
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpcore
import httpx

# Content-Encoding -> zlib's window bits (31: gzip header; 15: zlib header, as HTTP's
# "deflate" is meant). Brotli and zstd are never asked for (Accept-Encoding below).
_ENCODINGS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
ACCEPT_ENCODING = "gzip, deflate"
# Decompressed bytes produced per step, so memory grows with the cap, not with the ratio.
INFLATE_STEP = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RefusedFetch(httpx.RequestError):
    """A request the crawler will not make, or a body it will not read to the end."""


def check_address(url: str, *, allow_private: bool) -> None:
    """Raise `RefusedFetch` when `url`'s host resolves to an address the crawler must not
    reach: private, loopback, link-local, reserved, multicast or unspecified, unless allowed.

    Every address the name resolves to is checked, so a name with one public and one
    internal address is refused too.
    """
    if not allow_private:
        public_addresses(urlsplit(url).hostname or "")


def public_addresses(host: str) -> list[str]:
    """The addresses `host` resolves to, all of them public (`RefusedFetch` otherwise)."""
    try:
        addresses = sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError) as exc:
        raise RefusedFetch(f"cannot resolve {host!r}: {exc}") from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            raise RefusedFetch(
                f"{host} resolves to {ip}, a private, loopback or link-local address; not "
                "fetched (set ASSISTANT_CRAWL_ALLOW_PRIVATE_ADDRESSES=true to crawl an "
                "internal site)"
            )
    return addresses


class PublicOnlyBackend(httpcore.SyncBackend):
    """httpcore's sockets, connected only to the public address the host name was checked
    to have: the name is resolved once, here, and the socket connects to that address. The
    check before each request resolves it too, and a name whose server answers that lookup
    with a public address and the next with an internal one (DNS rebinding) would otherwise
    have the crawler fetch an internal page. TLS still checks the certificate against the
    name (httpcore starts TLS with the origin's host name)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        address = public_addresses(host)[0]
        return super().connect_tcp(address, port, timeout, local_address, socket_options)


def public_only_transport() -> httpx.HTTPTransport:
    """An httpx transport whose connections reach public addresses only (`PublicOnlyBackend`).

    httpx has no argument for httpcore's network backend: its connection pool is made again,
    with the certificate checks httpx would make, and this backend."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=PublicOnlyBackend()
    )
    return transport


def same_site(url: str, site_url: str) -> bool:
    """Whether `url` is on the site of `site_url`: the same host and port, or the https
    address of the same host (an http site moving its visitors to https)."""
    a, b = urlsplit(url), urlsplit(site_url)
    if a.scheme not in _DEFAULT_PORTS or (a.hostname or "") != (b.hostname or ""):
        return False
    a_port = a.port or _DEFAULT_PORTS[a.scheme]
    b_port = b.port or _DEFAULT_PORTS.get(b.scheme, 0)
    if (a.scheme, a_port) == (b.scheme, b_port):
        return True
    return (a.scheme, a_port, b.scheme, b_port) == ("https", 443, "http", 80)


def read_capped(response: httpx.Response, *, max_bytes: int, gunzip: bool = False) -> bytes:
    """The body of a streamed `response`, decompressed step by step and refused (with
    `RefusedFetch`) once it passes `max_bytes`. `gunzip`: the body is itself a gzip file (a
    `sitemap.xml.gz`), unpacked the same way."""
    encodings = [
        e.strip().lower()
        for e in response.headers.get("content-encoding", "").split(",")
        if e.strip() and e.strip().lower() != "identity"
    ]
    chunks: Iterator[bytes] = iter(response.iter_raw())
    for encoding in reversed(encodings):
        if encoding not in _ENCODINGS:
            raise RefusedFetch(f"unsupported Content-Encoding {encoding!r}")
        chunks = _inflate(chunks, _ENCODINGS[encoding], max_bytes)
    if gunzip:
        chunks = _gunzip_if_packed(chunks, max_bytes)
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
    return bytes(body)


def _gunzip_if_packed(chunks: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    first = next(chunks, b"")
    rest = _prepend(first, chunks)
    return _inflate(rest, 31, max_bytes) if first.startswith(GZIP_MAGIC) else rest


def _prepend(first: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    yield first
    yield from chunks


def _inflate(chunks: Iterable[bytes], wbits: int, max_bytes: int) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits)
    produced = 0

    def counted(out: bytes) -> bytes:
        nonlocal produced
        produced += len(out)
        if produced > max_bytes:
            raise _too_large(max_bytes)
        return out

    try:
        for chunk in chunks:
            data = chunk
            while not inflater.eof:
                out = inflater.decompress(data, INFLATE_STEP)
                data = inflater.unconsumed_tail
                yield counted(out)
                if not data and len(out) < INFLATE_STEP:
                    break
        yield counted(inflater.flush())
    except zlib.error as exc:
        raise RefusedFetch(f"cannot decompress the body: {exc}") from None


def _too_large(max_bytes: int) -> RefusedFetch:
    return RefusedFetch(
        f"more than {max_bytes / (1 << 20):g} MB once decompressed "
        "(ASSISTANT_CRAWL_MAX_RESPONSE_MB); not read further"
    )
