"""The emulator's HTTP server: gateway checks, limits and faults in front of a recogniser.

It answers like the service: HTTP 200 with ``{"Response": {...}}`` for results and errors alike,
a ``RequestId`` on every answer, and the same error codes in the same order of checks (request
shape, signature, action/version/region, rate limit, parameters, image, recognition). Requests it
cannot even read (a broken ``Content-Length``, an unknown path, a method other than GET/POST) get
the same envelope, with an HTTP error status. The one exception is the opt-in ``http_5xx`` fault,
which imitates a load balancer in front of the API and answers a bare 502.

As a server it is bounded: bodies are size-checked before they are read, sockets time out, images
over a pixel budget are refused before decoding, ``ImageUrl`` only reaches loopback, and at most
``capacity`` recognitions run at once (a request that cannot start within ``queue_timeout`` gets
``FailedOperation.EngineRecognizeTimeout``; one whose client has hung up is never recognised).
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import inspect
import json
import logging
import random
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tencent_ocr_emulator import api, download, gateway, imageinfo
from tencent_ocr_emulator.capacity import Admission, Capacity
from tencent_ocr_emulator.errors import ApiError, envelope, request_id
from tencent_ocr_emulator.recognisers import (
    FixtureRecogniser,
    Recogniser,
    RecognitionAbandoned,
    RecognitionFailed,
)
from tencent_ocr_emulator.signature import Credentials

__all__ = [
    "DEFAULT_SECRET_ID",
    "DEFAULT_SECRET_KEY",
    "STATS_PATH",
    "ApiError",
    "EmulatorServer",
    "Faults",
    "Stats",
    "connection_json",
]

log = logging.getLogger(__name__)

DEFAULT_SECRET_ID = "AKIDLOCALEMULATOR000000000000000000"
DEFAULT_SECRET_KEY = "local-emulator-secret-key-not-a-real-one"
STATS_PATH = "/__emulator__/stats"
# Request size limits of API 3.0: TC3-signed POST 10 MB, v1-signed (form) POST 1 MB, GET 32 KB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_FORM_REQUEST_BYTES = 1024 * 1024
MAX_GET_QUERY_BYTES = 32 * 1024
# Decoded pixels an image may declare: 50 MP covers a 48 MP phone photo, refuses decompression bombs.
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_SOCKET_TIMEOUT = 30.0
DEFAULT_QUEUE_TIMEOUT = 5.0
# After refusing a body it will not read, the server discards at most this much of it (never kept
# in memory) so the client reads the answer instead of a connection reset.
_DRAIN_BYTES = 64 * 1024 * 1024
_DRAIN_SECONDS = 5.0
_CHUNK_LINE_BYTES = 1024


@dataclass
class Faults:
    """Probabilities of injected faults per request that passed authentication and the rate limit."""

    internal_error: float = 0.0
    http_5xx: float = 0.0
    drop: float = 0.0
    throttle: float = 0.0


@dataclass
class Stats:
    """What the emulator saw: ``billed`` counts recognitions performed, as the service bills them.

    ``abandoned`` counts requests whose client hung up before their recognition started (never
    recognised, never billed); ``recognising`` / ``waiting`` are the recognitions running / waiting
    for a slot now, with their peaks.
    """

    requests: int = 0
    billed: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    recognising: int = 0
    max_recognising: int = 0
    waiting: int = 0
    max_waiting: int = 0
    abandoned: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)  # sha256 -> billed recognitions

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _SlidingWindowLimiter:
    """At most ``rate`` accepted requests per SecretId in any one-second window."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._accepted: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        if self.rate <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            window = self._accepted[key]
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= self.rate:
                return False
            window.append(now)
            return True


class _Abandoned(Exception):
    """The client hung up before its recognition started: nothing to answer, nothing billed."""


def _never_gone() -> bool:
    return False


class EmulatorServer:
    """A local Tencent Cloud OCR endpoint on loopback; use as a context manager or start()/stop().

    ``capacity``: recognitions at once (default: the recogniser's ``workers``, e.g. the local
    engine's process count; unlimited for recognisers without one). ``queue_timeout``: seconds a
    request may wait for a free slot before ``FailedOperation.EngineRecognizeTimeout``.
    ``latency`` is added to every recognition, inside its slot. ``max_pixels``: the largest image
    (width x height, read from its header) accepted for decoding. ``socket_timeout``: seconds a
    connection may stay silent (idle keep-alive included) before it is closed.
    """

    def __init__(
        self,
        *,
        recogniser: Recogniser | None = None,
        credentials: Mapping[str, Credentials] | None = None,
        secret_id: str = DEFAULT_SECRET_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: float = 20.0,
        latency: float = 0.0,
        faults: Faults | None = None,
        seed: int | None = None,
        capacity: int | None = None,
        queue_timeout: float = DEFAULT_QUEUE_TIMEOUT,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    ) -> None:
        self.recogniser: Recogniser = recogniser or FixtureRecogniser()
        self.credentials = dict(credentials or {secret_id: Credentials(secret_key, token)})
        self.secret_id, self.secret_key, self.token = secret_id, secret_key, token
        self.limiter = _SlidingWindowLimiter(rate_limit)
        self.latency = latency
        self.faults = faults or Faults()
        self.stats = Stats()
        self.capacity = Capacity(capacity if capacity is not None else getattr(self.recogniser, "workers", None))
        self.queue_timeout = queue_timeout
        self.max_pixels = max_pixels
        self.socket_timeout = socket_timeout
        self._pass_abandoned = "abandoned" in inspect.signature(self.recogniser.recognise).parameters
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd = _Server((host, port), _Handler)
        self._httpd.emulator = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="tencent-ocr-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread:  # shutdown() waits for serve_forever(), so only after start()
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
        self.recogniser.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def connection_json(self) -> str:
        """An ``AIRFLOW_CONN_...`` value (JSON form) for this emulator's default credentials."""
        return connection_json(self.endpoint, self.secret_id, self.secret_key, self.token)

    # -- request handling ----------------------------------------------------------------
    def _count(self, code: str) -> None:
        with self._lock:
            self.stats.codes[code] = self.stats.codes.get(code, 0) + 1

    def _chance(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._random.random() < probability

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        client_gone: Callable[[], bool] = _never_gone,
    ) -> tuple[int, dict[str, Any] | None]:
        """Status and JSON answer for one API request; ``None`` as answer means drop the connection."""
        try:
            call = gateway.authenticate(
                method, target, headers, body, service=api.SERVICE, credentials=self.credentials
            )
            if call.action != api.ACTION:
                raise ApiError("InvalidAction", f"The action {call.action} does not exist in this emulator.")
            if call.version != api.VERSION:
                raise ApiError("NoSuchVersion", f"The API version must be {api.VERSION}.")
            if call.region not in api.REGIONS:
                raise ApiError("UnsupportedRegion", "RecognizeSingaporeIDCardOCR is available in ap-singapore only.")
            if not self.limiter.allow(call.secret_id) or self._chance(self.faults.throttle):
                raise ApiError("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
            if self._chance(self.faults.drop):
                self._count("DroppedConnection")
                return 0, None
            if self._chance(self.faults.http_5xx):
                self._count("HTTP502")
                return 502, {"message": "Bad Gateway"}
            if self._chance(self.faults.internal_error):
                raise ApiError("InternalError", "An internal error has occurred. Retry your request.")
            response = self._recognise(call.params, client_gone)
        except ApiError as err:
            self._count(err.code)
            return err.status, envelope(err.code, err.message)
        except _Abandoned:
            self._count("ClientGone")
            return 0, None
        self._count("OK")
        response["RequestId"] = request_id()
        return 200, {"Response": response}

    def _image(self, params: Mapping[str, Any]) -> bytes:
        """The image bytes the parameters name, checked as the service checks them, not yet decoded."""
        unknown = set(params) - api.REQUEST_PARAMETERS
        if unknown:
            raise ApiError("UnknownParameter", f"Unknown parameter {sorted(unknown)[0]}.")
        for name in ("ImageUrl", "ImageBase64"):
            if params.get(name) is not None and not isinstance(params[name], str):
                raise ApiError("InvalidParameter", f"{name} must be a string.")
        if params.get("ImageUrl"):
            image = _download(params["ImageUrl"])
        elif params.get("ImageBase64"):
            encoded = params["ImageBase64"]
            if len(encoded) > api.MAX_IMAGE_BASE64_BYTES:
                raise ApiError("FailedOperation.ImageSizeTooLarge", "The image is larger than 7 MB after Base64.")
            try:
                image = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("FailedOperation.ImageDecodeFailed", "Image decoding failed.") from None
        else:
            raise ApiError("MissingParameter", "One of ImageBase64 or ImageUrl is required.")
        if api.encoded_length(len(image)) > api.MAX_IMAGE_BASE64_BYTES:
            raise ApiError("FailedOperation.ImageSizeTooLarge", "The image is larger than 7 MB after Base64.")
        if api.image_format(image) is None:
            raise ApiError("FailedOperation.ImageDecodeFailed", "Image decoding failed.")
        size = imageinfo.dimensions(image)
        if size is not None and size[0] * size[1] > self.max_pixels:
            # Refused before any decoding: the API's answer for an image it cannot decode.
            raise ApiError(
                "FailedOperation.ImageDecodeFailed",
                f"Image decoding failed: {size[0]}x{size[1]} pixels is over the {self.max_pixels} pixel limit.",
            )
        return image

    def _recognise(self, params: Mapping[str, Any], client_gone: Callable[[], bool]) -> dict[str, Any]:
        image = self._image(params)
        return_head_image = _boolean(params.get("ReturnHeadImage"), "ReturnHeadImage")
        with self._lock:
            self.stats.waiting += 1
            self.stats.max_waiting = max(self.stats.max_waiting, self.stats.waiting)
        try:
            admission = self.capacity.acquire(self.queue_timeout, client_gone)
        finally:
            with self._lock:
                self.stats.waiting -= 1
        if admission is Admission.TIMED_OUT:
            raise ApiError(
                "FailedOperation.EngineRecognizeTimeout",
                "The recognition engine is busy and could not start in time; retry later.",
            )
        if admission is Admission.CLIENT_GONE:
            self._abandon()
        with self._lock:
            self.stats.recognising += 1
            self.stats.max_recognising = max(self.stats.max_recognising, self.stats.recognising)
        try:
            if client_gone():  # its turn came, but nobody is waiting for the answer any more
                self._abandon()
            if self.latency > 0:
                time.sleep(self.latency)
            extra = {"abandoned": client_gone} if self._pass_abandoned else {}
            recognition = self.recogniser.recognise(image, return_head_image=return_head_image, **extra)
        except RecognitionAbandoned:
            self._abandon()
        except RecognitionFailed as err:
            raise ApiError(err.code, err.message) from None
        finally:
            with self._lock:
                self.stats.recognising -= 1
            self.capacity.release()
        digest = hashlib.sha256(image).hexdigest()
        with self._lock:
            self.stats.billed += 1
            self.stats.images[digest] = self.stats.images.get(digest, 0) + 1
        response: dict[str, Any] = {key: recognition.fields.get(key, "") for key in api.RESPONSE_FIELDS}
        photo = recognition.photo if return_head_image else None
        response["Photo"] = base64.b64encode(photo).decode() if photo else ""
        response["WarnCardInfos"] = list(recognition.warn_codes)
        return response

    def _abandon(self) -> None:
        with self._lock:
            self.stats.abandoned += 1
        raise _Abandoned


def connection_json(
    endpoint: str,
    secret_id: str = DEFAULT_SECRET_ID,
    secret_key: str = DEFAULT_SECRET_KEY,
    token: str | None = None,
    *,
    timeout: float | None = None,
) -> str:
    """An ``AIRFLOW_CONN_...`` value (JSON form) for an emulator at ``endpoint``."""
    extra: dict[str, Any] = {"endpoint": endpoint, "region": "ap-singapore"}
    if token:
        extra["token"] = token
    if timeout:
        extra["timeout"] = timeout
    return json.dumps({"conn_type": "tencentcloud", "login": secret_id, "password": secret_key, "extra": extra})


def _boolean(value: Any, name: str) -> bool:
    """A boolean parameter: JSON true/false, or in a query/form ``true``/``false`` (any case), ``1``/``0``."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise ApiError("InvalidParameter", f"{name} must be a boolean.")


def _download(url: str) -> bytes:
    """Fetch an ``ImageUrl``; the emulator only reaches loopback, never the network."""
    try:
        return download.fetch(url, max_bytes=MAX_REQUEST_BYTES)
    except download.DownloadRefused:
        raise ApiError(
            "FailedOperation.DownLoadError", "The image could not be downloaded (emulator: loopback only)."
        ) from None
    except OSError:
        raise ApiError("FailedOperation.DownLoadError", "The image could not be downloaded.") from None


class _Refused(Exception):
    """A request refused while reading it; the connection is closed after the answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(code)


class _Server(ThreadingHTTPServer):
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

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
                    raise _Refused(404, "ResourceNotFound", "The API is served at / only.")
                body = self._read_body(method)
            except _Refused as refused:
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
                raise _Refused(200, "RequestSizeLimitExceeded", "A GET request's query is limited to 32 KB.")
            if self.headers.get("Content-Length", "0").strip() not in ("", "0") or self.headers.get(
                "Transfer-Encoding"
            ):
                raise _Refused(400, "InvalidParameter", "A GET request carries its parameters in the query string.")
            return b""
        limit = MAX_FORM_REQUEST_BYTES if gateway.content_type(self.headers) == gateway.FORM else MAX_REQUEST_BYTES
        too_big = _Refused(200, "RequestSizeLimitExceeded", f"The request body is larger than {limit} bytes.")
        encoding = self.headers.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked" or "Content-Length" in self.headers:
                raise _Refused(400, "InvalidParameter", "Only Transfer-Encoding: chunked is supported.")
            try:
                return self._read_chunked(limit, too_big)
            except TimeoutError:
                raise _Refused(400, "InvalidParameter", "The request body did not arrive in time.") from None
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise _Refused(411, "MissingParameter", "A POST request needs a Content-Length header.")
        values = {value.strip() for value in lengths}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise _Refused(400, "InvalidParameter", "The Content-Length header is not a non-negative integer.")
        length = int(next(iter(values)))
        if length > limit:
            raise too_big
        return self._read_exactly(length)

    def _read_exactly(self, length: int) -> bytes:
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise _Refused(400, "InvalidParameter", "The request body did not arrive in time.") from None
        if len(body) < length:
            raise ConnectionAbortedError("client closed the connection mid-body")
        return body

    def _read_chunked(self, limit: int, too_big: _Refused) -> bytes:
        body = bytearray()
        malformed = _Refused(400, "InvalidParameter", "The chunked request body is malformed.")
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
