"""One deadline for a whole HTTP exchange (connect, request, headers, body), enforced by closing its socket.

``requests`` timeouts bound each socket read, not the exchange: a server that sends its status line
and headers one byte a second is never timed out (``timeout=3`` hung for a minute; an image server
ran past 110 s under a 60 s download deadline). Checking the clock between reads only helps once
the body is being read. So every exchange runs under :func:`exchange_deadline`: a single watchdog
thread shuts the exchange's socket down when its deadline passes, and the blocked read returns at
once. Sessions opt in with :func:`enforce_deadlines` (their connections report their socket to the
exchange running in the same thread); a request made outside an exchange is not affected.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

__all__ = ["Exchange", "enforce_deadlines", "exchange_deadline"]

_current = threading.local()


class Exchange:
    """One request and its answer, bounded by ``deadline_at`` (``time.monotonic()``); ``expired`` once cut."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at
        self.expired = False
        self._done = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()

    def attach(self, connection: Any) -> None:
        """A connection this exchange uses: its socket is shut down if the deadline passes."""
        with self._lock:
            if not self._done:
                self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._connections.clear()


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)  # a blocked recv returns now; the pool drops the connection
    except OSError:
        pass


class _Watchdog:
    """One daemon thread for every exchange of the process: expires each at its deadline."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Exchange]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self._cond:
            heapq.heappush(self._heap, (exchange.deadline_at, next(self._order), exchange))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="tencent-ocr-http-deadline", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                deadline_at, _, exchange = self._heap[0]
                wait = deadline_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            exchange.expire()  # a finished exchange ignores this


_WATCHDOG = _Watchdog()


@contextmanager
def exchange_deadline(seconds: float) -> Iterator[Exchange]:
    """Bound every request this thread makes in the block (through a session with :func:`enforce_deadlines`).

    When the deadline passes, the socket is shut down: the caller sees a connection or protocol
    error and should check ``exchange.expired`` to report it as the timeout it is.
    """
    exchange = Exchange(time.monotonic() + seconds)
    previous = getattr(_current, "exchange", None)
    _current.exchange = exchange
    _WATCHDOG.watch(exchange)
    try:
        yield exchange
    finally:
        exchange.finish()
        _current.exchange = previous


def _report(connection: Any) -> None:
    exchange: Exchange | None = getattr(_current, "exchange", None)
    if exchange is not None:
        exchange.attach(connection)


def _connection_classes() -> tuple[type, type, type, type]:
    """urllib3 connection and pool classes whose connections report themselves to the running exchange."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class DeadlineHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            _report(self)  # a deadline that passed while connecting cuts the new socket at once

        def request(self, *args: Any, **kwargs: Any) -> None:
            _report(self)  # a kept-alive connection is reused without connect()
            super().request(*args, **kwargs)

    class DeadlineHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            _report(self)

        def request(self, *args: Any, **kwargs: Any) -> None:
            _report(self)
            super().request(*args, **kwargs)

    class DeadlineHTTPPool(HTTPConnectionPool):
        ConnectionCls = DeadlineHTTPConnection

    class DeadlineHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = DeadlineHTTPSConnection

    return DeadlineHTTPConnection, DeadlineHTTPSConnection, DeadlineHTTPPool, DeadlineHTTPSPool


_classes: tuple[type, type, type, type] | None = None


def _pools() -> dict[str, type]:
    global _classes
    if _classes is None:
        _classes = _connection_classes()
    return {"http": _classes[2], "https": _classes[3]}


def enforce_deadlines(session: requests.Session) -> None:
    """Make the connections of ``session`` (direct or through a proxy) obey :func:`exchange_deadline`."""
    from requests.adapters import HTTPAdapter

    class DeadlineAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = _pools()

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = _pools()
            return manager

    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
