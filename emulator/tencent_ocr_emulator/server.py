"""The emulator: gateway checks, limits and faults in front of a recogniser (HTTP in ``transport``).

It serves every action in :mod:`tencent_ocr_emulator.actions`, each with its own request
parameters, response fields and per-account rate limit (the limit the reference states, else
``actions.UNSTATED_RATE_LIMIT``), as the service limits each action per account separately.

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
import copy
import hashlib
import inspect
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tencent_ocr_emulator import actions, api, download, gateway, imageinfo
from tencent_ocr_emulator.actions import ActionFacts
from tencent_ocr_emulator.capacity import Admission, Capacity
from tencent_ocr_emulator.errors import ApiError, envelope, request_id
from tencent_ocr_emulator.recognisers import (
    FixtureRecogniser,
    Recogniser,
    RecognitionAbandoned,
    RecognitionFailed,
    no_card,
)
from tencent_ocr_emulator.signature import Credentials
from tencent_ocr_emulator.transport import MAX_REQUEST_BYTES, STATS_PATH, Handler, HttpServer

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

DEFAULT_SECRET_ID = "AKIDLOCALEMULATOR000000000000000000"
DEFAULT_SECRET_KEY = "local-emulator-secret-key-not-a-real-one"
# Decoded pixels an image may declare: 50 MP covers a 48 MP phone photo, refuses decompression bombs.
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_SOCKET_TIMEOUT = 30.0
DEFAULT_QUEUE_TIMEOUT = 5.0


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
    actions: dict[str, int] = field(default_factory=dict)  # action -> billed recognitions
    accepted: list[str] = field(default_factory=list)  # actions of the first calls to pass the limit, in order

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RateLimits = float | Mapping[str, float] | None
ACCEPTED_KEPT = 10_000  # calls whose action ``Stats.accepted`` keeps, in the order they passed the limit


class _SlidingWindowLimiter:
    """At most ``rate`` accepted requests per key (action and SecretId) in any one-second window."""

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


def rate_limits(rate_limit: RateLimits) -> dict[str, float]:
    """Requests per second per account for every action: None keeps each action's default, a
    number applies to every action (0: no limit), a mapping overrides the actions it names."""
    limits = {name: facts.rate_limit for name, facts in actions.ACTIONS.items()}
    if isinstance(rate_limit, int | float):
        return dict.fromkeys(limits, float(rate_limit))
    for name, rate in (rate_limit or {}).items():
        if name not in limits:
            raise ValueError(f"rate_limit names an unknown action {name!r}; expected some of {sorted(limits)}")
        limits[name] = float(rate)
    return limits


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
    connection may stay silent (idle keep-alive included) before it is closed. ``rate_limit``:
    requests per second per account and action (see :func:`rate_limits`; default: each action's own).
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
        rate_limit: RateLimits = None,
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
        self.rate_limits = rate_limits(rate_limit)
        self.limiters = {name: _SlidingWindowLimiter(rate) for name, rate in self.rate_limits.items()}
        self.latency = latency
        self.faults = faults or Faults()
        self.stats = Stats()
        self.capacity = Capacity(capacity if capacity is not None else getattr(self.recogniser, "workers", None))
        self.queue_timeout = queue_timeout
        self.max_pixels = max_pixels
        self.socket_timeout = socket_timeout
        accepted = inspect.signature(self.recogniser.recognise).parameters
        self._pass_abandoned = "abandoned" in accepted
        self._pass_action = "action" in accepted
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd = HttpServer((host, port), Handler)
        self._httpd.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def limiter(self) -> _SlidingWindowLimiter:
        """RecognizeSingaporeIDCardOCR's limiter (the one limiter before other actions were served)."""
        return self.limiters[api.ACTION]

    def set_rate_limit(self, action: str, rate: float) -> None:
        """Change one action's requests per second per account while running (0: no limit)."""
        self.limiters[action].rate = self.rate_limits[action] = float(rate)

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
            facts = actions.get(call.action)
            if facts is None:
                raise ApiError("InvalidAction", f"The action {call.action} does not exist in this emulator.")
            if call.version != api.VERSION:
                raise ApiError("NoSuchVersion", f"The API version must be {api.VERSION}.")
            if call.region not in api.REGIONS:
                raise ApiError("UnsupportedRegion", f"{facts.name} is available in ap-singapore only.")
            if not self.limiters[facts.name].allow(call.secret_id) or self._chance(self.faults.throttle):
                limit = self.rate_limits[facts.name]
                raise ApiError("RequestLimitExceeded", f"Your current request times equals to `{limit:g}` in a second.")
            with self._lock:
                if len(self.stats.accepted) < ACCEPTED_KEPT:  # bounded: a long benchmark sends millions
                    self.stats.accepted.append(facts.name)
            if self._chance(self.faults.drop):
                self._count("DroppedConnection")
                return 0, None
            if self._chance(self.faults.http_5xx):
                self._count("HTTP502")
                return 502, {"message": "Bad Gateway"}
            if self._chance(self.faults.internal_error):
                raise ApiError("InternalError", "An internal error has occurred. Retry your request.")
            response = self._recognise(facts, call.params, client_gone)
        except ApiError as err:
            self._count(err.code)
            return err.status, envelope(err.code, err.message)
        except _Abandoned:
            self._count("ClientGone")
            return 0, None
        self._count("OK")
        response["RequestId"] = request_id()
        return 200, {"Response": response}

    def _image(self, facts: ActionFacts, params: Mapping[str, Any], *, back: bool = False) -> bytes | None:
        """The image bytes the parameters name, checked as the service checks them, not yet decoded.

        ``back``: the optional back-side image (``BackImageBase64`` / ``BackImageUrl``); None if absent.
        """
        url_name, base64_name = ("BackImageUrl", "BackImageBase64") if back else ("ImageUrl", "ImageBase64")
        for name in (url_name, base64_name):
            if params.get(name) is not None and not isinstance(params[name], str):
                raise ApiError("InvalidParameter", f"{name} must be a string.")
        limit = facts.max_image_base64_bytes
        too_large = f"The image is larger than {limit // actions.MB} MB after Base64."
        if params.get(url_name):
            if not facts.image_url_outside_mainland:
                raise ApiError(
                    "InvalidParameter",
                    f"{url_name} is not supported outside the Chinese mainland for {facts.name}; send {base64_name}.",
                )
            image = _download(params[url_name])
        elif params.get(base64_name):
            encoded = params[base64_name]
            if len(encoded) > limit:
                raise ApiError("FailedOperation.ImageSizeTooLarge", too_large)
            try:
                image = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError("FailedOperation.ImageDecodeFailed", "Image decoding failed.") from None
        elif back:
            return None
        else:
            raise ApiError("MissingParameter", "One of ImageBase64 or ImageUrl is required.")
        if api.encoded_length(len(image)) > limit:
            raise ApiError("FailedOperation.ImageSizeTooLarge", too_large)
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

    def _recognise(
        self, facts: ActionFacts, params: Mapping[str, Any], client_gone: Callable[[], bool]
    ) -> dict[str, Any]:
        unknown = set(params) - facts.request_parameters
        if unknown:
            raise ApiError("UnknownParameter", f"Unknown parameter {sorted(unknown)[0]}.")
        image = self._image(facts, params)
        assert image is not None
        if facts.back_image:
            self._image(facts, params, back=True)  # checked like the front; the answer reads the front
        name = facts.head_image_parameter
        return_head_image = _boolean(params.get(name), name) if name else False
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
            extra: dict[str, Any] = {"abandoned": client_gone} if self._pass_abandoned else {}
            if self._pass_action:
                extra["action"] = facts.name
            recognition = self.recogniser.recognise(image, return_head_image=return_head_image, **extra)
        except RecognitionAbandoned:
            self._abandon()
        except RecognitionFailed as err:
            raise ApiError(err.code, err.message) from None
        finally:
            with self._lock:
                self.stats.recognising -= 1
            self.capacity.release()
        if not self._pass_action and not any(recognition.fields.get(key) for key in facts.recognised_fields):
            # A recogniser that does not know actions answered none of this action's fields.
            failed = no_card(facts.name)
            raise ApiError(failed.code, failed.message)
        digest = hashlib.sha256(image).hexdigest()
        with self._lock:
            self.stats.billed += 1
            self.stats.images[digest] = self.stats.images.get(digest, 0) + 1
            per_action = self.stats.actions.setdefault(facts.name, 0)
            self.stats.actions[facts.name] = per_action + 1
        return respond(
            facts, recognition.fields, recognition.warn_codes, recognition.photo if return_head_image else None
        )

    def _abandon(self) -> None:
        with self._lock:
            self.stats.abandoned += 1
        raise _Abandoned


_TYPED_DEFAULTS: dict[str, Any] = {"Permanent": -1, "CardCount": 1, "IsComplete": True}


def respond(
    facts: ActionFacts, fields: Mapping[str, str], warn_codes: list[int], photo: bytes | None
) -> dict[str, Any]:
    """The action's ``Response`` body (without RequestId) from flat recognised fields, typed as the reference says.

    Strings for text fields, ``{"Value": ...}`` for the Philippine fields, int / bool for typed
    fields, nested objects for ``Object.Field`` keys, Base64 portraits when asked ("" otherwise).
    """
    response: dict[str, Any] = {key: fields.get(key, "") for key in facts.text_fields}
    for key in facts.value_fields:
        response[key] = {"Value": fields.get(key, "")}
    for key, kind in facts.typed_fields.items():
        response[key] = _typed(fields.get(key), kind, _TYPED_DEFAULTS.get(key))
    for obj, names in facts.object_fields.items():
        response[obj] = {name: fields.get(f"{obj}.{name}", "") for name in names}
    encoded = base64.b64encode(photo).decode() if photo else ""
    for key in facts.image_fields:
        response[key] = {"Value": encoded} if facts.value_fields else encoded
    for key, constant in facts.deprecated_fields.items():
        response[key] = copy.deepcopy(constant)
    if facts.warn_codes:
        response["WarnCardInfos"] = list(warn_codes)
    return response


def _typed(value: str | None, kind: str, default: Any) -> Any:
    if value is None or value == "":
        return default
    if kind == "bool":
        return value.lower() in ("true", "1")
    return int(value)


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
