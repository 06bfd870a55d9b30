"""One run's work on one manifest row: read the image, de-duplicate, use the cache, call, retry.

A :class:`RowWorker` lives for one run only, so its counters, its pacing and its concurrency start
fresh every time (a runner can run again safely). Every call goes through two gates of its
action: the adaptive concurrency (how many at once) and the adaptive pacing (how many per
second). Tencent limits each action per account separately, so each action has its own pair,
created on its first row with the action's documented limit. A call waiting to be retried holds
neither, so it never keeps a fresh row from being sent.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from airflow_provider_tencent_ocr.actions.registry import get_action
from airflow_provider_tencent_ocr.exceptions import ConnectionConfigError, InvalidImageError, TencentCloudAPIError
from airflow_provider_tencent_ocr.io import link_local
from airflow_provider_tencent_ocr.io.cache import ResultCache, cache_key
from airflow_provider_tencent_ocr.io.images import encode_checked, is_http_url, load_image
from airflow_provider_tencent_ocr.io.manifest import ManifestRow
from airflow_provider_tencent_ocr.io.presign import SERVICE_DOWNLOAD_ERRORS, is_object_store_uri, sign_image
from airflow_provider_tencent_ocr.io.uris import redact_uri
from airflow_provider_tencent_ocr.run.concurrency import AdaptiveConcurrency
from airflow_provider_tencent_ocr.run.documents import DocumentFormat, SingaporeFormat, UnsupportedActionError
from airflow_provider_tencent_ocr.run.inflight import InFlight
from airflow_provider_tencent_ocr.run.limits import ActionLimits, CallOutcome
from airflow_provider_tencent_ocr.run.options import RunOptions
from airflow_provider_tencent_ocr.run.progress import Progress
from airflow_provider_tencent_ocr.run.ratelimit import AdaptiveRateLimiter
from airflow_provider_tencent_ocr.run.repeats import Bounded, FileDigests, stat_signature
from airflow_provider_tencent_ocr.run.retries import CallBudget, RetryStats, retry_downloads

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
# Calls that did not reach the API, with none that did, before the run stops as misconfigured: at
# least this many, and at least two per call allowed in flight (the first wave of a flaky but working
# service can fail all at once; a refused endpoint fails this many in milliseconds).
UNREACHED_LIMIT = 5


class Recogniser(Protocol):
    """What the runner needs of the hook (``TencentOcrHook``), besides the typed method its ``DocumentFormat`` calls."""

    def request_timeout(self) -> float:
        """Seconds each request may take (the concurrency limit learns what is too slow from it)."""
        ...

    def warm_up(self) -> None:
        """Make this thread ready to send (build its client) before it takes a pacing slot."""
        ...


@dataclass(frozen=True)
class Outcome:
    """What happened to one row."""

    image_sha256: str | None = None
    result: Any = None  # the format's typed result (it has ``request_id``), None on error
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    attempts: int = 0
    ocr_at: datetime | None = None
    from_cache: bool = False
    cache_key: str | None = None  # the key its result is stored under, if any


class Stopped(Exception):
    """A fatal error elsewhere means this row must not call the API."""


def _api_retryable(err: BaseException) -> bool:
    return isinstance(err, TencentCloudAPIError) and err.retryable


def request_timeout(recogniser: Recogniser, options: RunOptions) -> float:
    """The request timeout: the option, else the recogniser's own, else 30 s."""
    if options.timeout:
        return options.timeout
    try:
        return float(recogniser.request_timeout())
    except Exception:  # its connection cannot be read: the first call will say so, naming the cause
        return DEFAULT_TIMEOUT


@functools.lru_cache(maxsize=65536)
def _cache_key(action: str, digest: str, return_head_image: bool) -> str:
    """``cache_key`` of an image recognition, remembered: repeated rows ask for it once per row."""
    return cache_key(action, digest, {"return_head_image": return_head_image})


class RowWorker:
    """Turns manifest rows into :class:`Outcome` s for one run; thread-safe, one instance per run."""

    def __init__(
        self,
        recogniser: Recogniser,
        options: RunOptions,
        cache: ResultCache | None,
        *,
        started: float,
        document: DocumentFormat | None = None,
    ) -> None:
        self.recogniser = recogniser
        self.options = options
        self.cache = cache
        self.document: DocumentFormat = document or SingaporeFormat()
        self._timeout = request_timeout(recogniser, options)
        self.limits: dict[str, ActionLimits] = {}  # by action, each made on the action's first row
        self.retries = RetryStats()
        self.deadline = started + options.retry_deadline if options.retry_deadline else None
        self.fatal = threading.Event()
        self.fatal_error: TencentCloudAPIError | None = None
        self.config_error: ConnectionConfigError | None = None  # raised by the runner after the stream
        self._inflight: InFlight[Outcome] = InFlight()
        # Repeated rows: the images' digests and the finished ok outcomes, so they need no I/O (repeats.py).
        self._digests = FileDigests()
        self._finished: Bounded[str, Outcome] = Bounded(1024)
        self._url_actions: dict[str, bool] = {}  # send_as="url": whether each action takes ImageUrl here
        self._lock = threading.Lock()
        self.calls = 0  # API calls sent (a connection that could not be opened is not one)
        self.connect_failures = 0  # calls that never reached anything: refused, unresolvable, connect timeout
        self.reached = 0  # answers that came from the API itself (a result, or an error with a RequestId)
        self.unreached = 0  # calls that did not reach the API: connect failures, and answers without RequestId
        self.unreachable = False  # tripped: no call reached the API, the run stops (see UNREACHED_LIMIT)
        self.unreached_limit = max(UNREACHED_LIMIT, 2 * options.max_in_flight)
        self.last_unreached: TencentCloudAPIError | None = None
        self.sending = 0  # API calls on the wire now
        self.done = 0
        self.errors = 0
        self.obtained = 0  # recognitions paid for in this run
        self._retry_downloads = retry_downloads(options.max_attempts, options.retry_max_wait, self.fatal)

    def limits_for(self, action: str) -> ActionLimits:
        """The action's pacing and concurrency, made on first use with its documented (or configured) limit."""
        with self._lock:
            limits = self.limits.get(action)
            if limits is None:
                rate = self.options.rate_for(action, self.document.default_rate(action))
                limits = self.limits[action] = ActionLimits(
                    AdaptiveRateLimiter(rate), AdaptiveConcurrency(self.options.max_in_flight, timeout=self._timeout)
                )
            return limits

    def progress(self) -> Progress:
        """A snapshot for the progress line; rates and limits are summed over the actions seen so far."""
        with self._lock:
            done, errors, sending = self.done, self.errors, self.sending
            limits = list(self.limits.values())
        return Progress(
            done,
            errors,
            sending,
            sum(limit.concurrency.limit for limit in limits),
            sum(limit.pacing.rate for limit in limits),
            sum(limit.pacing.max_rate for limit in limits),
        )

    # -- one row ----------------------------------------------------------------------------
    def process(self, row: ManifestRow, action: str) -> Outcome:
        """The row's outcome under ``action``; never raises (an unexpected error becomes an error outcome)."""
        try:
            if self.fatal.is_set():  # stopped: no image is read for a row that will not be sent
                raise Stopped
            outcome = self._recognise_row(row, action)
        except Stopped:
            outcome = Outcome(error_code="NotProcessed", error_message="the run stopped at a fatal error")
        except ConnectionConfigError as err:  # e.g. the storage connection is missing: no row can succeed
            with self._lock:
                self.config_error = self.config_error or err
            self.fatal.set()
            outcome = Outcome(error_code="NotProcessed", error_message="the run stopped at a configuration error")
        except Exception as err:  # a bug or an unexpected library error: one error row, not a lost run
            log.warning("row %d failed unexpectedly: %s", row.index, type(err).__name__, exc_info=True)
            outcome = Outcome(error_code="InternalClientError", error_message=f"unexpected {type(err).__name__}")
        with self._lock:
            self.done += 1
            self.errors += outcome.result is None
        return outcome

    def unsupported(self, err: UnsupportedActionError) -> Outcome:
        """The error outcome of a row naming no action this run serves (counted as done, no call)."""
        with self._lock:
            self.done += 1
            self.errors += 1
        return Outcome(error_code=err.code, error_message=str(err))

    def known(self, row: ManifestRow, action: str) -> Outcome | None:
        """The outcome of a row whose image this run has already recognised (no read, no thread), else None.

        Cheap enough to ask on the caller's thread for every row: one ``stat`` and two map lookups. Never
        raises: a URI it cannot judge (malformed, unreadable) takes the normal path, which reports it.
        """
        try:
            return self._known(row, action)
        except Exception:
            return None

    def _known(self, row: ManifestRow, action: str) -> Outcome | None:
        uri = (row.image_uri or "").strip()
        if not uri:
            return None
        if self.options.send_as == "url" and is_http_url(uri):
            key = self._url_key(action, uri)
        else:
            digest = self._digests.lookup(uri)
            if digest is None:
                return None
            key = self._key(action, digest)
        outcome = self._finished.get(key)
        if outcome is not None:
            with self._lock:
                self.done += 1
        return outcome

    def _key(self, action: str, digest: str) -> str:
        """The action is part of the key: one image read under two actions is two results."""
        return _cache_key(action, digest, self.options.return_head_image)

    def _url_key(self, action: str, uri: str) -> str:
        """The object, not its signature: a re-signed URL is the same key."""
        options = {"return_head_image": self.options.return_head_image}
        return cache_key(action, "url:" + (redact_uri(uri) or uri), options)

    def _recognise_row(self, row: ManifestRow, action: str) -> Outcome:
        uri = (row.image_uri or "").strip()
        if not uri:
            return Outcome(
                error_code="InvalidManifestRow",
                error_message=f"manifest row {row.index} has no image URI: fill the image column or remove the row",
            )
        if self.options.send_as == "url" and (is_http_url(uri) or is_object_store_uri(uri)) and self._takes_url(action):
            if is_http_url(uri):
                if not self.options.allow_link_local_images:
                    try:  # the service resolves the name: only a literal address can be checked here
                        link_local.check_url(uri)
                    except InvalidImageError as err:
                        return Outcome(error_code=err.code, error_message=err.message)
                return self._once(action, self._url_key(action, uri), None, {"image_url": uri})
            return self._fetched_by_service(uri, action)
        signature = stat_signature(uri)  # before reading: a change while reading shows at the next lookup
        try:
            data = self._retry_downloads(
                load_image,
                uri,
                storage_conn_id=self.options.image_conn_id(uri),
                timeout=self.options.image_timeout,
                deadline=self.options.image_deadline,
                allow_link_local=self.options.allow_link_local_images,
            )
        except InvalidImageError as err:
            return Outcome(error_code=err.code, error_message=err.message)
        digest = hashlib.sha256(data).hexdigest()
        try:
            encoded = encode_checked(data)  # checked once here; the hook does not check again
        except InvalidImageError as err:
            return Outcome(image_sha256=digest, error_code=err.code, error_message=err.message)
        self._digests.remember(uri, signature, digest)
        del data
        return self._once(action, self._key(action, digest), digest, {"image_base64": encoded})

    def _takes_url(self, action: str) -> bool:
        """Whether ``action`` takes ``ImageUrl`` in the connection's region; if not, its rows send bytes.

        ``MLIDCardOCR``, ``HKIDCardOCR`` and ``MLIDPassportOCR`` take no ImageUrl outside the Chinese
        mainland: a ``send_as="url"`` run falls back to Base64 for them (same result, the worker moves
        the bytes), said once per action, instead of making every such row an error.
        """
        with self._lock:
            if action in self._url_actions:
                return self._url_actions[action]
        spec = get_action(action)
        try:
            region = str(self.recogniser.config.region)  # type: ignore[attr-defined]
        except Exception:  # not a hook: nothing says the region, the action's own rule decides
            region = ""
        takes = spec is None or spec.accepts_image_url(region)
        with self._lock:
            first = action not in self._url_actions
            self._url_actions[action] = takes
        if first and not takes:
            log.warning(
                "%s takes no ImageUrl outside the Chinese mainland (region %s): its images are sent as bytes "
                "(send_as='base64') in this run",
                action,
                region or "unknown",
            )
        return takes

    def _fetched_by_service(self, uri: str, action: str) -> Outcome:
        """``send_as="url"`` for an object-store image: the service downloads a presigned URL.

        Cached by the object's identity (never the signature). When the service could not download
        it, the object is looked up and signed afresh: gone, the row says ``ImageNotFound``; still
        there, the failure was in transit (or the URL expired while throttled) and is tried again,
        up to ``max_attempts`` calls.
        """
        attempts = 0
        for attempt in range(1, self.options.max_attempts + 1):
            try:
                signed = self._retry_downloads(sign_image, uri, conn_id=self.options.image_conn_id(uri))
            except InvalidImageError as err:
                return Outcome(error_code=err.code, error_message=err.message, attempts=attempts)
            key = cache_key(action, signed.identity, {"return_head_image": self.options.return_head_image})
            outcome = self._once(action, key, None, {"image_url": signed.url})
            attempts += outcome.attempts
            if outcome.error_code not in SERVICE_DOWNLOAD_ERRORS or attempt == self.options.max_attempts:
                break
            time.sleep(min(self.options.retry_max_wait, 0.25 * 2**attempt))
        return replace(outcome, attempts=attempts)

    def _once(self, action: str, key: str, digest: str | None, image: dict[str, str]) -> Outcome:
        """Serve from the cache or call, once per key at a time; rows joining a call share its outcome."""
        outcome, owner = self._inflight.once(key, lambda: self._cached_or_called(action, key, digest, image))
        if outcome.result is not None:  # later rows with this image: served as from the cache, no call
            outcome = replace(outcome, cache_key=key)
            self._finished.put(key, replace(outcome, attempts=0, from_cache=True))
        return outcome if owner else replace(outcome, attempts=0)

    def _cached_or_called(self, action: str, key: str, digest: str | None, image: dict[str, str]) -> Outcome:
        """From the cache; else, once this run holds the key's claim, from a call (stored for every task).

        While another task holds the claim, its result is awaited rather than paid for again.
        """
        if self.cache is None:
            return replace(self._call(action, image), image_sha256=digest)
        cached = self.cache.get(key) or self.cache.claim_or_wait(key, self.fatal)
        if cached is None and self.fatal.is_set():
            self.cache.release(key)
            raise Stopped
        if cached is not None:
            outcome = self._from_cache(action, cached, digest)
            if outcome is not None:
                return outcome
            # A stored answer that does not fit the schema (kept by an earlier version): paid again, replaced.
        try:
            outcome = replace(self._call(action, image), image_sha256=digest)
            if outcome.result is not None:
                obtained_at = outcome.ocr_at.timestamp() if outcome.ocr_at else 0.0
                self.cache.put(key, self.document.to_cache(outcome.result), obtained_at)
        finally:
            self.cache.release(key)
        return outcome

    def _from_cache(self, action: str, cached: tuple[dict[str, Any], float], digest: str | None) -> Outcome | None:
        """The cached answer as an outcome; None when it does not fit the answer's schema (a miss)."""
        response, obtained_at = cached
        try:
            result = self.document.from_cache(action, response)
        except TencentCloudAPIError as err:
            log.warning("a cached result does not fit the answer's schema (%s); it is not used", err.code)
            return None
        return Outcome(
            image_sha256=digest,
            result=result,
            request_id=response.get("RequestId"),
            ocr_at=datetime.fromtimestamp(obtained_at, UTC),
            from_cache=True,
        )

    # -- one call, retried --------------------------------------------------------------------
    def _call(self, action: str, image: dict[str, str]) -> Outcome:
        budget = CallBudget(
            self.options.max_attempts, self.deadline, self.options.retry_max_wait, self.retries, self.fatal
        )
        limits = self.limits_for(action)
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            self._warm_up()
            if self.fatal.is_set() or not limits.concurrency.acquire(self.fatal):
                raise Stopped
            try:
                sent_at = limits.pacing.acquire(self.fatal)
                if self.fatal.is_set():
                    raise Stopped
                attempts += 1
                return self._send(action, limits, image, sent_at, budget)
            finally:
                limits.concurrency.release()

        try:
            result = budget.run(attempt, _api_retryable)
        except TencentCloudAPIError as err:
            if err.fatal:
                raise Stopped from None
            return Outcome(error_code=err.code, error_message=err.message, request_id=err.request_id, attempts=attempts)
        except InvalidImageError as err:
            return Outcome(error_code=err.code, error_message=err.message, attempts=attempts)
        with self._lock:
            self.obtained += 1
        return Outcome(result=result, request_id=result.request_id, attempts=attempts, ocr_at=datetime.now(UTC))

    def _warm_up(self) -> None:
        """Make this thread ready to send before it takes a pacing slot.

        Built after the slot, the first call of every thread would leave late while later slots
        leave on time: a burst that the service's one-second window throttles.
        """
        self.recogniser.warm_up()

    def _send(
        self, action: str, limits: ActionLimits, image: Mapping[str, str], sent_at: float, budget: CallBudget
    ) -> Any:
        """One request; its outcome is the one event the action's limits learn from (``run/limits.py``)."""
        with self._lock:
            self.calls += 1
            self.sending += 1
        began = time.monotonic()
        try:
            result = self.document.recognise(
                self.recogniser, action, image, return_head_image=self.options.return_head_image
            )
        except TencentCloudAPIError as err:
            self._note_reach(err)
            limits.observe(CallOutcome.of(sent_at, time.monotonic() - began, err))
            if err.fatal:
                with self._lock:
                    self.fatal_error = self.fatal_error or err
                self.fatal.set()
            elif err.retryable:
                budget.failed(err)
            raise
        finally:
            with self._lock:
                self.sending -= 1
        self._note_reach(None)
        limits.observe(CallOutcome.of(sent_at, time.monotonic() - began))
        return result

    def _note_reach(self, err: TencentCloudAPIError | None) -> None:
        """Count whether a call reached the API; trip ``unreachable`` when none has, again and again.

        An answer from the API carries a RequestId (a result, or an error). A refused or timed-out
        connection never left the client, and an HTTP error or unreadable answer without a RequestId
        came from something else on the way (a proxy or firewall page, a wrong host): neither is an
        API call. A dropped connection counts too (a port that accepts and hangs up answers nothing,
        ever); it trips only while no call has reached the API. A read timeout is not counted.
        """
        if err is None or err.request_id:
            with self._lock:
                self.reached += 1
            return
        connect_failure = err.code == "ClientNetworkError" and not err.may_have_been_billed
        dropped = err.code == "ClientNetworkError" and err.may_have_been_billed and err.timeout is None
        if not connect_failure and not dropped and err.http_status is None:
            return
        with self._lock:
            if connect_failure:
                self.calls -= 1
                self.connect_failures += 1
            self.unreached += 1
            self.last_unreached = err
            trip = self.reached == 0 and self.unreached >= self.unreached_limit
        if trip:
            self.unreachable = True
            self.fatal.set()
