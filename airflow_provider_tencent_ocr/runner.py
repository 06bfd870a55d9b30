"""Run one OCR action over a manifest: concurrent, rate limited, retried, cached, streamed.

Nothing here imports Airflow, so it can be driven and benchmarked directly. Every manifest row
yields exactly one output row, in manifest order, with its result or its error; only a fatal
error (authentication, authorisation, service not opened, billing) stops the run, and then the
results already paid for stay in the cache for the next attempt.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.cache import ResultCache, cache_key
from airflow_provider_tencent_ocr.errors import InvalidImageError, TencentCloudAPIError
from airflow_provider_tencent_ocr.images import check_image_bytes, is_http_url, load_image
from airflow_provider_tencent_ocr.manifest import Manifest, ManifestRow
from airflow_provider_tencent_ocr.ratelimit import AdaptiveRateLimiter

log = logging.getLogger(__name__)


class Recogniser(Protocol):
    """What the runner needs of the hook (``TencentOcrHook`` satisfies it)."""

    def recognize_singapore_id_card(
        self, *, image_base64: str | None = None, image_url: str | None = None, return_head_image: bool = False
    ) -> sg.SingaporeIdCardResult: ...


class RowSink(Protocol):
    """Where finished rows go (``ParquetOutputWriter`` satisfies it)."""

    def write_rows(self, rows: list[dict[str, Any]]) -> None: ...


class RunAborted(RuntimeError):
    """A fatal API error stopped the run; ``error`` is the one that did."""

    def __init__(self, error: TencentCloudAPIError, obtained: int, cache_uri: str | None) -> None:
        self.error = error
        where = f" They are kept in the cache {cache_uri} and will not be billed again." if cache_uri else ""
        super().__init__(
            f"Stopped at the fatal Tencent Cloud error {error.code}: {error.message}. "
            f"{obtained} recognitions were obtained before the stop.{where} "
            "Fix the account or connection (credentials, region, service activation, billing) and re-run."
        )


class ErrorRateExceeded(RuntimeError):
    """More rows than ``max_error_rate`` allows ended in per-image errors (raised after the output is written)."""


@dataclass(frozen=True)
class RunOptions:
    """How to call the API; every number here is a user-facing operator argument."""

    send_as: Literal["base64", "url"] = "base64"
    return_head_image: bool = False
    max_requests_per_second: float = 20.0
    max_in_flight: int = 16
    max_attempts: int = 5
    retry_max_wait: float = 20.0
    max_error_rate: float | None = None
    progress_interval: float = 10.0
    storage_conn_id: str | None = None
    image_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.send_as not in ("base64", "url"):
            raise ValueError(f"send_as must be 'base64' or 'url', not {self.send_as!r}")
        if self.max_in_flight < 1 or self.max_attempts < 1:
            raise ValueError("max_in_flight and max_attempts must be at least 1")
        if self.max_error_rate is not None and not 0 <= self.max_error_rate <= 1:
            raise ValueError(f"max_error_rate must be between 0 and 1, not {self.max_error_rate!r}")


@dataclass(frozen=True)
class Outcome:
    """What happened to one row."""

    image_sha256: str | None = None
    result: sg.SingaporeIdCardResult | None = None
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = None
    attempts: int = 0
    ocr_at: datetime | None = None
    from_cache: bool = False


@dataclass
class RunSummary:
    """The small JSON-able result of a run (it becomes the task's XCom)."""

    output: str = ""
    rows: int = 0
    ok: int = 0
    errors: int = 0
    errors_by_code: dict[str, int] = field(default_factory=dict)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    cache_hits: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "rows": self.rows,
            "ok": self.ok,
            "errors": self.errors,
            "errors_by_code": dict(sorted(self.errors_by_code.items())),
            "warnings_by_code": dict(sorted(self.warnings_by_code.items())),
            "api_calls": self.api_calls,
            "cache_hits": self.cache_hits,
            "seconds": round(self.seconds, 2),
        }


# Columns an error row keeps when post-processing fails (identity of the row, not its content).
_KEPT_ON_ERROR = frozenset({"record_id", "image_uri", "image_sha256", "request_id", "attempts", "ocr_at"})


class _Stopped(Exception):
    """Internal: a fatal error elsewhere means this row must not call the API."""


class OcrRunner:
    """Drives the recogniser over a manifest into a row sink."""

    def __init__(
        self,
        recogniser: Recogniser,
        options: RunOptions | None = None,
        *,
        cache: ResultCache | None = None,
        row_transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.recogniser = recogniser
        self.options = options or RunOptions()
        self.cache = cache
        self.row_transform = row_transform
        self.limiter = AdaptiveRateLimiter(self.options.max_requests_per_second)
        self._lock = threading.Lock()
        self._inflight: dict[str, Future[Outcome]] = {}
        self._fatal = threading.Event()
        self._fatal_error: TencentCloudAPIError | None = None
        self._calls = 0
        self._done = 0
        self._errors = 0
        self._obtained = 0
        # Built once and shared: tenacity keeps per-call state in thread-local storage.
        self._retry_api = self._retrying(lambda e: isinstance(e, TencentCloudAPIError) and e.retryable)
        self._retry_downloads = self._retrying(lambda e: getattr(e, "retryable", False) is True)

    def _retrying(self, retryable: Callable[[BaseException], bool]) -> Retrying:
        """Exponential backoff with full jitter, only for errors that may pass on their own."""
        return Retrying(
            stop=stop_after_attempt(self.options.max_attempts),
            wait=wait_random_exponential(multiplier=0.5, max=self.options.retry_max_wait),
            retry=retry_if_exception(retryable),
            reraise=True,
        )

    # -- the run ----------------------------------------------------------------------------
    def run(self, manifest: Manifest, sink: RowSink, *, output: str = "") -> RunSummary:
        """Process every row; raises RunAborted on a fatal error (nothing is written then)."""
        started = time.monotonic()
        summary = RunSummary(output=output)
        total = manifest.count_rows()
        durable = self.cache
        scratch = None
        if durable is None:
            # Without a cache, identical images in rows that are not in flight together would be
            # billed again: dedupe within the run through a throwaway cache on disk (bounded memory).
            scratch = tempfile.mkdtemp(prefix="tencent-ocr-run-")
            self.cache = ResultCache(os.path.join(scratch, "dedup.sqlite"))
        stop_progress = threading.Event()
        reporter = threading.Thread(target=self._report, args=(total, started, stop_progress), daemon=True)
        reporter.start()
        try:
            self._stream(manifest, sink, summary)
        finally:
            stop_progress.set()
            reporter.join(timeout=5)
            if scratch is not None:
                assert self.cache is not None
                self.cache.close()
                self.cache = durable
                shutil.rmtree(scratch, ignore_errors=True)
        summary.api_calls = self._calls
        summary.seconds = time.monotonic() - started
        if self._fatal_error is not None:
            raise RunAborted(self._fatal_error, self._obtained, durable.uri if durable else None)
        return summary

    def _stream(self, manifest: Manifest, sink: RowSink, summary: RunSummary) -> None:
        """Keep the pool busy across batch boundaries; hand rows to the sink in manifest order.

        A bounded window of submitted rows (not a whole batch at a time) means one slow row never
        idles the other workers, and memory stays bounded by the window and one output batch.
        """
        window = 4 * self.options.max_in_flight
        pending: collections.deque[tuple[ManifestRow, Future[Outcome]]] = collections.deque()
        finished: list[dict[str, Any]] = []

        def drain(keep: int) -> None:
            while len(pending) > keep:
                row, future = pending.popleft()
                finished.append(self._row(row, future.result(), summary))
                if len(finished) >= manifest.batch_rows and not self._fatal.is_set():
                    sink.write_rows(finished)
                    finished.clear()
                    if self.cache is not None:
                        self.cache.sync_if_due()

        with ThreadPoolExecutor(self.options.max_in_flight, thread_name_prefix="tencent-ocr") as pool:
            for batch in manifest.iter_batches():
                for row in batch:
                    if self._fatal.is_set():
                        break
                    pending.append((row, pool.submit(self._process, row)))
                    drain(window)
            drain(0)
        if finished and not self._fatal.is_set():
            sink.write_rows(finished)

    def check_error_rate(self, summary: RunSummary) -> None:
        """Raise ErrorRateExceeded when the share of error rows is above ``max_error_rate``."""
        limit = self.options.max_error_rate
        if limit is None or summary.rows == 0 or summary.errors / summary.rows <= limit:
            return
        counts = ", ".join(f"{code}: {n}" for code, n in sorted(summary.errors_by_code.items()))
        raise ErrorRateExceeded(
            f"{summary.errors} of {summary.rows} rows ({summary.errors / summary.rows:.1%}) ended in errors, above "
            f"max_error_rate={limit:.1%} ({counts}). The output was written to {summary.output}; check the "
            "error_code column and the images."
        )

    # -- one row ----------------------------------------------------------------------------
    def _process(self, row: ManifestRow) -> Outcome:
        try:
            outcome = self._recognise_row(row)
        except _Stopped:
            outcome = Outcome(error_code="NotProcessed", error_message="the run stopped at a fatal error")
        except Exception as err:  # a bug or an unexpected library error: one error row, not a lost run
            log.warning("row %d failed unexpectedly: %s", row.index, type(err).__name__)
            outcome = Outcome(error_code="InternalClientError", error_message=f"unexpected {type(err).__name__}")
        with self._lock:
            self._done += 1
            self._errors += outcome.result is None
        return outcome

    def _recognise_row(self, row: ManifestRow) -> Outcome:
        uri = (row.image_uri or "").strip()
        if not uri:
            return Outcome(
                error_code="InvalidManifestRow",
                error_message=f"manifest row {row.index} has no image URI: fill the image column or remove the row",
            )
        options = {"return_head_image": self.options.return_head_image}
        if self.options.send_as == "url" and is_http_url(uri):
            key = cache_key(sg.ACTION, "url:" + uri, options)
            return self._once(key, None, {"image_url": uri})
        try:
            data = self._load(uri)
        except InvalidImageError as err:
            return Outcome(error_code=err.code, error_message=err.message)
        digest = hashlib.sha256(data).hexdigest()
        try:
            check_image_bytes(data)
        except InvalidImageError as err:
            return Outcome(image_sha256=digest, error_code=err.code, error_message=err.message)
        encoded = base64.b64encode(data).decode("ascii")
        del data
        return self._once(cache_key(sg.ACTION, digest, options), digest, {"image_base64": encoded})

    def _load(self, uri: str) -> bytes:
        """Image bytes, retrying only download failures that may pass (timeouts, 5xx, 429)."""
        return self._retry_downloads(
            load_image, uri, storage_conn_id=self.options.storage_conn_id, timeout=self.options.image_timeout
        )

    def _once(self, key: str, digest: str | None, image: dict[str, str]) -> Outcome:
        """Join an identical call in flight, or (as its owner) serve from the cache or make the call.

        The in-flight slot is claimed before the cache is read and released only after the result
        is stored, so two rows with the same image can never both miss and both pay.
        """
        with self._lock:
            shared = self._inflight.get(key)
            owner = shared is None
            if owner:
                shared = self._inflight[key] = Future()
        assert shared is not None
        if not owner:
            return replace(shared.result(), attempts=0)
        try:
            cached = self.cache.get(key) if self.cache is not None else None
            if cached is not None:
                response, obtained_at = cached
                outcome = Outcome(
                    image_sha256=digest,
                    result=sg.SingaporeIdCardResult.from_response(response),
                    request_id=response.get("RequestId"),
                    ocr_at=datetime.fromtimestamp(obtained_at, UTC),
                    from_cache=True,
                )
            else:
                outcome = replace(self._call(image), image_sha256=digest)
                if outcome.result is not None and self.cache is not None:
                    obtained_at = outcome.ocr_at.timestamp() if outcome.ocr_at else 0.0
                    self.cache.put(key, outcome.result.to_response(), obtained_at)
            shared.set_result(outcome)
            return outcome
        except BaseException as err:
            shared.set_exception(err)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def _call(self, image: dict[str, str]) -> Outcome:
        attempts = 0

        def attempt() -> sg.SingaporeIdCardResult:
            nonlocal attempts
            if self._fatal.is_set():
                raise _Stopped
            self.limiter.acquire()
            if self._fatal.is_set():
                raise _Stopped
            attempts += 1
            with self._lock:
                self._calls += 1
            try:
                result = self.recogniser.recognize_singapore_id_card(
                    **image, return_head_image=self.options.return_head_image
                )
            except TencentCloudAPIError as err:
                if err.code.startswith("RequestLimitExceeded"):
                    self.limiter.on_throttled()
                if err.fatal:
                    with self._lock:
                        self._fatal_error = self._fatal_error or err
                    self._fatal.set()
                raise
            self.limiter.on_success()
            return result

        try:
            result = self._retry_api(attempt)
        except TencentCloudAPIError as err:
            if err.fatal:
                raise _Stopped from None
            return Outcome(error_code=err.code, error_message=err.message, request_id=err.request_id, attempts=attempts)
        except InvalidImageError as err:
            return Outcome(error_code=err.code, error_message=err.message, attempts=attempts)
        with self._lock:
            self._obtained += 1
        return Outcome(result=result, request_id=result.request_id, attempts=attempts, ocr_at=datetime.now(UTC))

    # -- output -------------------------------------------------------------------------------
    def _row(self, row: ManifestRow, outcome: Outcome, summary: RunSummary) -> dict[str, Any]:
        out: dict[str, Any] = {
            "record_id": row.record_id,
            "image_uri": row.image_uri,
            "image_sha256": outcome.image_sha256,
            "status": "ok" if outcome.result is not None else "error",
            "error_code": outcome.error_code,
            "error_message": outcome.error_message,
            "request_id": outcome.request_id,
            "attempts": outcome.attempts,
            "ocr_at": outcome.ocr_at,
        }
        if outcome.result is not None:
            out.update(sg.result_columns(outcome.result))
        if self.row_transform is not None:
            try:
                out = self.row_transform(out)
            except Exception as err:  # e.g. a portrait that could not be stored: the row says so
                out.update(
                    {column: None for column in out if column not in _KEPT_ON_ERROR},
                    status="error",
                    error_code="PostProcessingFailed",
                    error_message=f"{type(err).__name__} while storing the result (portrait or personal-data step)",
                )
        summary.rows += 1
        summary.cache_hits += outcome.from_cache
        if out["status"] == "error":
            summary.errors += 1
            code = out["error_code"] or "UnknownError"
            summary.errors_by_code[code] = summary.errors_by_code.get(code, 0) + 1
        else:
            summary.ok += 1
            for code, n in Counter(str(c) for c in out["warn_codes"] or ()).items():
                summary.warnings_by_code[code] = summary.warnings_by_code.get(code, 0) + n
        out.update(row.carried)
        return out

    def _report(self, total: int, started: float, stop: threading.Event) -> None:
        """A progress line every ``progress_interval`` seconds: counts and rates only, no personal data."""
        last_calls, last_time = 0, started
        while not stop.wait(self.options.progress_interval):
            now = time.monotonic()
            with self._lock:
                done, calls, errors = self._done, self._calls, self._errors
            rate = (calls - last_calls) / max(now - last_time, 1e-9)
            last_calls, last_time = calls, now
            per_row = (now - started) / done if done else 0.0
            eta = f"{per_row * (total - done):.0f}s" if done else "unknown"
            log.info(
                "progress: %d/%d rows, %d ok, %d errors so far, %.1f requests/s (limit %.1f), ETA %s",
                done,
                total,
                done - errors,
                errors,
                rate,
                self.limiter.rate,
                eta,
            )
