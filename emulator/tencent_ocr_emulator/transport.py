"""HTTP for the emulator: reading requests within bounds, and answering in the API's envelope.

The server (``server.EmulatorServer``) decides what to answer; this module only moves bytes, and
does so defensively: the body size is checked before the body is read (``Content-Length`` missing,
negative or not a number is answered, never dropped; chunked bodies are capped as they arrive),
every socket has a timeout, a body that will not be read is discarded (not kept) for a bounded
while so the client gets the answer instead of a reset, and the standard library's own refusals
(bad request line, unsupported method) come in the envelope too.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tencent_ocr_emulator import gateway
from tencent_ocr_emulator.errors import envelope

if TYPE_CHECKING:
    from tencent_ocr_emulator.server import EmulatorServer

log = logging.getLogger("tencent_ocr_emulator.server")

STATS_PATH = "/__emulator__/stats"
# Request size limits of API 3.0: TC3-signed POST 10 MB, v1-signed (form) POST 1 MB, GET 32 KB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_FORM_REQUEST_BYTES = 1024 * 1024
MAX_GET_QUERY_BYTES = 32 * 1024
# After refusing a body it will not read, the server discards at most this much of it (never kept
# in memory) so the client reads the answer instead of a connection reset.
_DRAIN_BYTES = 64 * 1024 * 1024
_DRAIN_SECONDS = 5.0
_CHUNK_LINE_BYTES = 1024


class Refused(Exception):
    """A request refused while reading it; the connection is closed after the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(code)


class HttpServer(ThreadingHTTPServer):
    """One thread per connection; the :class:`Handler` reaches the emulator through ``emulator``."""

    daemon_threads = True
    request_queue_size = 128
    emulator: EmulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up (and the emulator drops connections on purpose): no traceback for that."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            log.debug("emulator: connection from %s closed", client_address)
            return
        super().handle_error(request, client_address)


# Refusals by the standard library's request parser, in the API's words.
_PARSER_CODES = {
    414: "RequestSizeLimitExceeded",
    431: "RequestSizeLimitExceeded",
    501: "UnsupportedProtocol",
    505: "UnsupportedProtocol",
}
_PARSER_MESSAGES = {
    "RequestSizeLimitExceeded": "The request line or headers are too long.",
    "UnsupportedProtocol": "Only GET and POST requests over HTTP/1.x are supported.",
}


class Handler(BaseHTTPRequestHandler):
    """One connection: bounded reading, the emulator's answer, the envelope for every refusal."""

    protocol_version = "HTTP/1.1"
    server: HttpServer

    def setup(self) -> None:
        self.timeout = self.server.emulator.socket_timeout  # StreamRequestHandler applies it to the socket
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("emulator: " + format, *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (bad request line, unsupported method), enveloped."""
        api_code = _PARSER_CODES.get(code, "InvalidParameter")
        message = _PARSER_MESSAGES.get(api_code, "The request is not valid HTTP/1.1.")  # never echo the request
        if self.request_version == "HTTP/0.9":  # unparsable request line: answer in HTTP/1.1 all the same
            self.request_version = self.protocol_version
        self.server.emulator._count(api_code)
        self.close_connection = True
        self._send(code, envelope(api_code, message), close=True)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if urlsplit(self.path).path == STATS_PATH:
            with self.server.emulator._lock:
                self._send(200, self.server.emulator.stats.to_dict())
            return
        self._api("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._api("POST")

    def _api(self, method: str) -> None:
        emulator = self.server.emulator
        with emulator._lock:
            emulator.stats.requests += 1
            emulator.stats.in_flight += 1
            emulator.stats.max_in_flight = max(emulator.stats.max_in_flight, emulator.stats.in_flight)
        try:
            try:
                if urlsplit(self.path).path not in ("", "/"):
                    raise Refused(404, "ResourceNotFound", "The API is served at / only.")
                body = self._read_body(method)
            except Refused as refused:
                emulator._count(refused.code)
                self._send(refused.status, envelope(refused.code, refused.message), close=True)
                self._drain()
                return
            status, answer = emulator.handle(
                method, self.path, dict(self.headers.items()), body, client_gone=self._client_gone
            )
            if answer is None:
                self.close_connection = True
                self.connection.close()
                return
            self._send(status, answer)
        finally:
            with emulator._lock:
                emulator.stats.in_flight -= 1

    # -- reading a body, bounded -----------------------------------------------------------
    def _read_body(self, method: str) -> bytes:
        """The request body, refused before reading when it is (or claims to be) too big."""
        if method == "GET":
            query = urlsplit(self.path).query
            if len(query) > MAX_GET_QUERY_BYTES:
                raise Refused(200, "RequestSizeLimitExceeded", "A GET request's query is limited to 32 KB.")
            if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
                "Transfer-Encoding"
            ):
                raise Refused(400, "InvalidParameter", "A GET request carries its parameters in the query string.")
            return b""
        limit = MAX_FORM_REQUEST_BYTES if gateway.content_type(self.headers) == gateway.FORM else MAX_REQUEST_BYTES
        too_big = Refused(200, "RequestSizeLimitExceeded", f"The request body is larger than {limit} bytes.")
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked" or "Content-Length" in self.headers:
                raise Refused(400, "InvalidParameter", "Only Transfer-Encoding: chunked is supported.")
            try:
                return self._read_chunked(limit, too_big)
            except TimeoutError:
                raise Refused(400, "InvalidParameter", "The request body did not arrive in time.") from None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise Refused(411, "MissingParameter", "A POST request needs a Content-Length header.")
        values = {value.strip() for value in lengths}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise Refused(400, "InvalidParameter", "The Content-Length header is not a non-negative integer.")
        length = int(next(iter(values)))
        if length > limit:
            raise too_big
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise Refused(400, "InvalidParameter", "The request body did not arrive in time.") from None
        if len(body) < length:
            raise ConnectionAbortedError("client closed the connection mid-body")
        return body

    def _read_chunked(self, limit: int, too_big: Refused) -> bytes:
        body = bytearray()
        malformed = Refused(400, "InvalidParameter", "The chunked request body is malformed.")
        while True:
            line = self.rfile.readline(_CHUNK_LINE_BYTES)
            if not line.endswith(b"\n"):
                raise malformed
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise malformed from None
            if size < 0:
                raise malformed
            if size == 0:
                break
            if len(body) + size > limit:
                raise too_big
            body += self._read_exactly(size)
            if self.rfile.readline(_CHUNK_LINE_BYTES).strip():
                raise malformed
        for _ in range(64):  # trailer fields, up to the empty line
            if not self.rfile.readline(_CHUNK_LINE_BYTES).strip():
                return bytes(body)
        raise malformed

    def _drain(self) -> None:
        """After an answer to a body not read: discard (never keep) what the client still sends, bounded.

        Closing a socket with unread input resets the connection, and the client would lose the
        answer; so the write side is shut first, then input is read and dropped for a short while.
        """
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline, total = time.monotonic() + _DRAIN_SECONDS, 0
            self.connection.settimeout(0.5)
            while total < _DRAIN_BYTES and time.monotonic() < deadline:
                try:
                    chunk = self.connection.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                total += len(chunk)
        except OSError:
            return

    # -- the client ------------------------------------------------------------------------
    def _client_gone(self) -> bool:
        """True if the client has closed its side (EOF or reset) while its request waits."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _send(self, status: int, answer: dict[str, Any], *, close: bool = False) -> None:
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
