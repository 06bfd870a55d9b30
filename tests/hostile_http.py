"""A loopback HTTP server that answers POSTs however a test says: hostile or broken answers the emulator won't give."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Answer = Callable[[BaseHTTPRequestHandler], None]


class HostileServer(ThreadingHTTPServer):
    """Counts the requests it received and the body bytes it managed to send."""

    daemon_threads = True

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self.sent = 0
        self.stop = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def connection(self, **extra: object) -> str:
        """An Airflow connection (JSON) pointing at this server."""
        return json.dumps(
            {
                "conn_type": "tencentcloud",
                "login": "AKIDhostile",
                "password": "hostile-key",
                "extra": {"endpoint": self.endpoint, **extra},
            }
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def do_POST(self) -> None:  # noqa: N802
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        try:
            self.server.answer(self)
        except OSError:  # the client hung up, as it should for some answers
            pass
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def send_json(handler: BaseHTTPRequestHandler, payload: object) -> None:
    body = json.dumps(payload).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_endless(handler: BaseHTTPRequestHandler, chunk: bytes = b" " * 65536, limit: int = 400 * 1024 * 1024) -> None:
    """A 200 answer whose (chunked) body goes on up to ``limit`` bytes, or until the client hangs up."""
    server: HostileServer = handler.server  # type: ignore[assignment]
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    prefix = b'{"Response": {"RequestId": "x", "Pad": "'
    handler.wfile.write(b"%x\r\n%s\r\n" % (len(prefix), prefix))
    while server.sent < limit and not server.stop.is_set():
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        server.sent += len(chunk)


@contextmanager
def hostile_server(answer: Answer) -> Iterator[HostileServer]:
    """Run the server for the block; always stopped afterwards."""
    server = HostileServer(answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def unaccepting_port() -> Iterator[int]:
    """A loopback port whose accept queue is full: a new connection attempt hangs (a connect timeout)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            try:
                filler.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def trickle(handler: BaseHTTPRequestHandler, pause: float = 0.5) -> None:
    """Send a status line and headers one byte at a time, ``pause`` seconds apart, for as long as allowed.

    Every byte arrives well within any per-read timeout, so only a deadline on the whole exchange
    ends it; it goes on until the client hangs up or the server stops.
    """
    stop: threading.Event = handler.server.stop  # type: ignore[attr-defined]
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 100_000
    for byte in head:
        if stop.wait(pause):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


class _TrickleImage(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Pad: " + b"a" * 100_000
        try:
            for byte in head:
                if self.stop.wait(0.5):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def trickling_image_server() -> Iterator[str]:
    """An image URL whose server sends its headers one byte every half second."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TrickleImage)
    server.daemon_threads = True
    _TrickleImage.stop.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/card.png"
    finally:
        _TrickleImage.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
