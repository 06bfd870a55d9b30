"""Fetching an ``ImageUrl``: loopback only, on every redirect hop, and never through a proxy.

The emulator is a local stand-in: it must not become a way to reach other hosts (cloud metadata at
169.254.169.254, a private network) for whoever can send it a request. ``urllib``'s defaults would
follow a redirect anywhere and honour ``*_proxy`` environment variables, so neither is used: the
opener has no proxy handler and no redirect handler, and redirects are followed here, one checked
hop at a time.
"""

from __future__ import annotations

import ipaddress
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urljoin, urlsplit

MAX_REDIRECTS = 5
# The API documents that an image must download within 3 seconds.
DOWNLOAD_TIMEOUT_SECONDS = 3.0
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class DownloadRefused(Exception):
    """The URL (or a redirect) leaves loopback, or is not http(s)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None  # hand the 3xx back to the caller, who checks the target first


def _opener() -> urllib.request.OpenerDirector:
    # ProxyHandler({}) replaces the default one that reads *_proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is ``localhost`` or a loopback address literal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def fetch(url: str, *, max_bytes: int, timeout: float = DOWNLOAD_TIMEOUT_SECONDS) -> bytes:
    """The body at ``url`` (at most ``max_bytes + 1`` bytes read, so the caller can tell it is too big).

    Raises :class:`DownloadRefused` for a URL or redirect off loopback, ``OSError`` for anything
    else that goes wrong (connection, HTTP error status, timeout, too many redirects).
    """
    opener = _opener()
    for _ in range(MAX_REDIRECTS + 1):
        if not is_loopback_url(url):
            raise DownloadRefused(url)
        try:
            with opener.open(url, timeout=timeout) as answer:
                return _read(answer, max_bytes + 1, deadline=time.monotonic() + timeout)
        except urllib.error.HTTPError as err:
            location = err.headers.get("Location") if err.code in _REDIRECTS else None
            err.close()
            if not location:
                raise OSError(f"HTTP {err.code}") from None
            url = urljoin(url, location)
    raise OSError("too many redirects")


def _read(answer: Any, limit: int, *, deadline: float) -> bytes:
    """At most ``limit`` bytes, all within ``deadline``: a server dripping bytes cannot hold the fetch."""
    data = bytearray()
    while len(data) < limit:
        if time.monotonic() > deadline:
            raise OSError("the image did not download within the time limit")
        chunk = answer.read1(min(65536, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)
