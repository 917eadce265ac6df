"""Fetch one small document over HTTP(S), connecting only to addresses the policy permits."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore

from postroom.autoconfig.options import AddressPolicy, DiscoveryConfig
from postroom.autoconfig.resolver import Resolver

log = logging.getLogger("postroom.autoconfig")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 3
# Everything httpcore raises for a failed exchange (TLS failures arrive as ConnectError).
_HTTP_ERRORS = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
)


class _ClosingStream(httpcore.AsyncNetworkStream):
    """Closes the socket when the TLS handshake is cancelled (a timeout while a server hangs).

    httpcore closes it only on an Exception, and cancellation is not one: without this, every
    hanging autoconfig server would leave an open socket behind until garbage collection.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._inner.start_tls(ssl_context, server_hostname, timeout)
        except asyncio.CancelledError:
            await self._inner.aclose()
            raise

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves through our resolver and connects to a permitted address only.

    httpcore still sends the original host name for SNI, certificate checks and the Host
    header: only the TCP connection goes to the checked address (no DNS-rebinding window).
    """

    def __init__(self, resolver: Resolver, policy: AddressPolicy) -> None:
        self._resolver = resolver
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolver.permitted(host, self._policy)
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address Postroom may contact")
        error: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
            else:
                return _ClosingStream(stream)
        assert error is not None
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@lru_cache(maxsize=8)
def _ssl_context(extra_ca_file: Path | None) -> ssl.SSLContext:
    # Loading the system's CA store takes tens of milliseconds of blocked event loop: once per
    # CA file, then shared (a context is safe to share; httpcore only sets ALPN on it).
    context = ssl.create_default_context()
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    return context


def _is_xml(headers: list[tuple[bytes, bytes]]) -> bool:
    # Thunderbird ignores an autoconfig answer that is not text/xml or application/xml.
    types = [value.lower() for name, value in headers if name.lower() == b"content-type"]
    return bool(types) and b"xml" in types[0]


def _location(url: str, headers: list[tuple[bytes, bytes]]) -> str | None:
    found = [value for name, value in headers if name.lower() == b"location"]
    if not found:
        return None
    target = urljoin(url, found[0].decode("latin-1"))
    # Never follow https to http: that would undo the protection HTTPS gave the lookup.
    if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
        return None
    return target if urlsplit(target).scheme in ("http", "https") else None


async def _read_capped(response: httpcore.Response, limit: int) -> bytes | None:
    body = bytearray()
    async for chunk in response.aiter_stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def fetch_xml(url: str, config: DiscoveryConfig, resolver: Resolver) -> bytes | None:
    """The body of an XML answer with status 200, following up to three redirects; None for any
    failure (refused address, TLS error, other status, not XML, too large). The caller bounds
    the time."""
    backend = _GuardedBackend(resolver, config.policy)
    timeouts = {name: config.http_timeout for name in ("connect", "read", "write", "pool")}
    headers = [(b"Accept", b"application/xml, text/xml"), (b"User-Agent", b"Postroom")]
    async with httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(config.extra_ca_file), network_backend=backend, retries=0
    ) as pool:
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                async with pool.stream(
                    "GET", url, headers=headers, extensions={"timeout": timeouts}
                ) as response:
                    if response.status in _REDIRECTS:
                        next_url = _location(url, response.headers)
                        if next_url is None:
                            return None
                        url = next_url
                        continue
                    if response.status != 200 or not _is_xml(response.headers):
                        log.debug("autoconfig %s: status %s", url, response.status)
                        return None
                    return await _read_capped(response, config.max_document_bytes)
            except _HTTP_ERRORS as exc:
                log.debug("autoconfig %s: %s", url, exc)
                return None
    return None
