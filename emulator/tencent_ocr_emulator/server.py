"""The emulator's HTTP server: gateway checks, limits and faults in front of a recogniser.

It answers like the service: HTTP 200 with ``{"Response": {...}}`` for results and errors alike,
a ``RequestId`` on every answer, and the same error codes in the same order of checks (request
shape, signature, action/version/region, rate limit, parameters, image, recognition).
"""

from __future__ import annotations

import base64
import binascii
import collections
import hashlib
import ipaddress
import json
import logging
import random
import socket
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

from tencent_ocr_emulator import api
from tencent_ocr_emulator.recognisers import (
    FixtureRecogniser,
    Recogniser,
    RecognitionFailed,
)
from tencent_ocr_emulator.signature import Credentials, SignatureError, verify

log = logging.getLogger(__name__)

DEFAULT_SECRET_ID = "AKIDLOCALEMULATOR000000000000000000"
DEFAULT_SECRET_KEY = "local-emulator-secret-key-not-a-real-one"
MAX_REQUEST_BYTES = 10 * 1024 * 1024
STATS_PATH = "/__emulator__/stats"


class ApiError(Exception):
    """An answer in the documented error shape."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(code)


@dataclass
class Faults:
    """Probabilities of injected faults per request that passed authentication and the rate limit."""

    internal_error: float = 0.0
    http_5xx: float = 0.0
    drop: float = 0.0
    throttle: float = 0.0


@dataclass
class Stats:
    """What the emulator saw: ``billed`` counts successful recognitions, as the service bills them."""

    requests: int = 0
    billed: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
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


class EmulatorServer:
    """A local Tencent Cloud OCR endpoint on loopback; use as a context manager or start()/stop()."""

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
    ) -> None:
        self.recogniser: Recogniser = recogniser or FixtureRecogniser()
        self.credentials = dict(credentials or {secret_id: Credentials(secret_key, token)})
        self.secret_id, self.secret_key, self.token = secret_id, secret_key, token
        self.limiter = _SlidingWindowLimiter(rate_limit)
        self.latency = latency
        self.faults = faults or Faults()
        self.stats = Stats()
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

    def handle(self, headers: Mapping[str, str], body: bytes, path: str) -> tuple[int, dict[str, Any] | None]:
        """Status and JSON answer for one POST; ``None`` as answer means drop the connection."""
        parsed = urlparse(path)
        try:
            action = headers.get("X-TC-Action", "")
            if not action:
                raise ApiError("MissingParameter", "The X-TC-Action header is missing.")
            try:
                secret_id = verify(
                    method="POST",
                    path=parsed.path or "/",
                    query=parsed.query,
                    headers=headers,
                    body=body,
                    service=api.SERVICE,
                    credentials=self.credentials,
                )
            except SignatureError as err:
                raise ApiError(err.code, err.message) from None
            if action != api.ACTION:
                raise ApiError("InvalidAction", f"The action {action} does not exist in this emulator.")
            if headers.get("X-TC-Version") != api.VERSION:
                raise ApiError("NoSuchVersion", f"The API version must be {api.VERSION}.")
            if headers.get("X-TC-Region") not in api.REGIONS:
                raise ApiError("UnsupportedRegion", "RecognizeSingaporeIDCardOCR is available in ap-singapore only.")
            if not self.limiter.allow(secret_id) or self._chance(self.faults.throttle):
                raise ApiError("RequestLimitExceeded", "Your current request times equals to `20` in a second.")
            if self._chance(self.faults.drop):
                self._count("DroppedConnection")
                return 0, None
            if self._chance(self.faults.http_5xx):
                self._count("HTTP502")
                return 502, {"message": "Bad Gateway"}
            if self._chance(self.faults.internal_error):
                raise ApiError("InternalError", "An internal error has occurred. Retry your request.")
            if self.latency > 0:
                time.sleep(self.latency)
            response = self._recognise(body)
        except ApiError as err:
            self._count(err.code)
            return 200, _error(err.code, err.message)
        self._count("OK")
        response["RequestId"] = _request_id()
        return 200, {"Response": response}

    def _recognise(self, body: bytes) -> dict[str, Any]:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
        if not isinstance(params, dict):
            raise ApiError("InvalidParameter", "The request body must be a JSON object.")
        unknown = set(params) - api.REQUEST_PARAMETERS
        if unknown:
            raise ApiError("UnknownParameter", f"Unknown parameter {sorted(unknown)[0]}.")
        if params.get("ImageUrl"):
            image = _download(str(params["ImageUrl"]))
        elif params.get("ImageBase64"):
            encoded = str(params["ImageBase64"])
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
        return_head_image = bool(params.get("ReturnHeadImage"))
        try:
            recognition = self.recogniser.recognise(image, return_head_image=return_head_image)
        except RecognitionFailed as err:
            raise ApiError(err.code, err.message) from None
        digest = hashlib.sha256(image).hexdigest()
        with self._lock:
            self.stats.billed += 1
            self.stats.images[digest] = self.stats.images.get(digest, 0) + 1
        response: dict[str, Any] = {key: recognition.fields.get(key, "") for key in api.RESPONSE_FIELDS}
        photo = recognition.photo if return_head_image else None
        response["Photo"] = base64.b64encode(photo).decode() if photo else ""
        response["WarnCardInfos"] = list(recognition.warn_codes)
        return response


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


def _request_id() -> str:
    return str(uuid.uuid4())


def _download(url: str) -> bytes:
    """Fetch an ``ImageUrl``; the emulator only reaches loopback, never the network."""
    parsed = urlparse(url)
    try:
        loopback = parsed.hostname == "localhost" or ipaddress.ip_address(parsed.hostname or "").is_loopback
    except ValueError:
        loopback = False
    if parsed.scheme not in ("http", "https") or not loopback:
        raise ApiError("FailedOperation.DownLoadError", "The image could not be downloaded (emulator: loopback only).")
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - loopback only, checked above
            return answer.read(MAX_REQUEST_BYTES + 1)
    except OSError:
        raise ApiError("FailedOperation.DownLoadError", "The image could not be downloaded.") from None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    emulator: EmulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hang up (and the emulator drops connections on purpose): no traceback for that."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("emulator: connection from %s closed", client_address)
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("emulator: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        if self.path == STATS_PATH:
            with self.server.emulator._lock:
                self._send(200, self.server.emulator.stats.to_dict())
        else:
            self._send(404, {"message": "POST / with a signed request"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        emulator = self.server.emulator
        with emulator._lock:
            emulator.stats.requests += 1
            emulator.stats.in_flight += 1
            emulator.stats.max_in_flight = max(emulator.stats.max_in_flight, emulator.stats.in_flight)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_REQUEST_BYTES:
                self.rfile.read(length)
                emulator._count("RequestSizeLimitExceeded")
                self._send(200, _error("RequestSizeLimitExceeded", "The request body is larger than 10 MB."))
                return
            body = self.rfile.read(length)
            status, answer = emulator.handle(dict(self.headers.items()), body, self.path)
            if answer is None:
                self.close_connection = True
                self.connection.close()
                return
            self._send(status, answer)
        finally:
            with emulator._lock:
                emulator.stats.in_flight -= 1

    def _send(self, status: int, answer: dict[str, Any]) -> None:
        payload = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": _request_id()}}
