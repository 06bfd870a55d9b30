"""Run OCR over a manifest: concurrent, paced per action, retried, cached, streamed in order.

Nothing here imports Airflow, so it can be driven and benchmarked directly. Every manifest row
yields exactly one output row, in manifest order, with its result or its error; only a fatal
error (authentication, authorisation, service not opened, billing) stops the run, and then the
results already paid for stay in the cache for the next attempt.

The parts, each readable and testable alone:

- ``documents``: what an operator reads and writes (each row's action, the call, the row);
- ``worker``: one row to one outcome (image, de-duplication, cache, call, retries), per run;
- ``ratelimit``: pacing per action, slowed only by throttling (CUBIC, fair between tasks on one account);
- ``concurrency``: how many calls in flight per action, following the service's latency;
- ``retries``: why a call failed, what that costs, how long to wait;
- ``inflight``: identical images in flight are one call;
- ``progress``: the progress and retry lines of the task log;
- this module: one lane (threads) per action, the order of the output, the row, and the summary.
"""

from __future__ import annotations

import collections
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_tencent_ocr.exceptions import (
    ErrorRateExceeded,
    RunAborted,
    RunStopped,
    ServiceUnreachable,
    TencentCloudAPIError,
    UnwritableRows,
)
from airflow_provider_tencent_ocr.io.cache import ResultCache
from airflow_provider_tencent_ocr.io.manifest import Manifest, ManifestRow
from airflow_provider_tencent_ocr.io.uris import redact_uri
from airflow_provider_tencent_ocr.run.documents import (
    DocumentFormat,
    OutputRow,
    SingaporeFormat,
    UnsupportedActionError,
)
from airflow_provider_tencent_ocr.run.options import RunOptions
from airflow_provider_tencent_ocr.run.progress import ProgressReporter
from airflow_provider_tencent_ocr.run.repeats import Bounded
from airflow_provider_tencent_ocr.run.retries import CAUSES
from airflow_provider_tencent_ocr.run.worker import Outcome, Recogniser, RowWorker

__all__ = [
    "ErrorRateExceeded",
    "OcrRunner",
    "Outcome",
    "Recogniser",
    "RowSink",
    "RunAborted",
    "RunOptions",
    "RunStopped",
    "RunSummary",
    "ServiceUnreachable",
]

log = logging.getLogger(__name__)

PORTRAIT_REORDER_ROWS = 1000
INVALID_RESPONSE = "InvalidResponse"  # the code of an answer that does not fit, at reading or at writing


class RowSink(Protocol):
    """Where finished rows go (``ParquetOutputWriter`` satisfies it)."""

    def write_rows(self, rows: list[dict[str, Any]]) -> None: ...


def fatal_stop(error: TencentCloudAPIError, obtained: int, cache_uri: str | None) -> RunAborted:
    """A fatal API answer (authentication, authorisation, service not opened, billing) stopped the run."""
    return RunAborted(
        f"The run stopped at the fatal Tencent Cloud error {error.code}: {error.message.rstrip('. ')}. "
        "Fix the account or connection (credentials, region, service activation, billing) and re-run. "
        f"{_paid_before_stop(obtained, cache_uri)}",
        error,
    )


def _paid_before_stop(obtained: int, cache_uri: str | None) -> str:
    if obtained == 0:
        return "Nothing was paid for before the stop."
    if cache_uri:
        return (
            f"The {obtained} results paid for before the stop are saved in the cache {redact_uri(cache_uri)}: "
            "a rerun with the same cache does not pay for them again."
        )
    return f"{obtained} results were paid for before the stop; without a cache, a rerun pays for them again."


def _unreachable(recogniser: object, worker: RowWorker) -> ServiceUnreachable:
    """Name the connection and the endpoint, and what the calls met on the way."""
    conn_id = getattr(recogniser, "tencentcloud_conn_id", None)
    try:
        cfg = recogniser.config  # type: ignore[attr-defined]
        endpoint = f"{cfg.scheme}://{cfg.host}"
    except Exception:  # not a hook: say what is known
        endpoint = "the configured endpoint"
    where = f"{endpoint} (connection {conn_id!r})" if conn_id else endpoint
    err = worker.last_unreached
    if err is not None and err.http_status is not None:
        met = (
            f"{worker.unreached} answers came without a RequestId, so not from the API (last: {err.message}): "
            "a proxy, firewall or other server answers at this address"
        )
    elif err is not None and err.may_have_been_billed:
        met = (
            f"{worker.unreached} calls got no answer at all, the connection closed (last: {err.message}): "
            "something other than the API accepts connections at this address"
        )
    else:
        met = f"{worker.connect_failures} connection attempts failed ({err.message if err else 'no answer'})"
    billed = "No answer came from the API." if err is not None and err.may_have_been_billed else "Nothing was billed."
    return ServiceUnreachable(
        f"No call reached the Tencent Cloud API at {where}: {met}. This is a configuration problem, not one of "
        "the images: check the connection's endpoint extra (host, scheme and port), the proxy settings and the "
        f"network path from this worker, and test the connection. {billed}"
    )


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
    connect_failures: int = 0
    cache_hits: int = 0
    retries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CAUSES, 0))
    seconds: float = 0.0

    @property
    def credentials_used(self) -> bool:
        """False when no request was sent (every row from the cache): the run proves nothing of the credentials."""
        return self.api_calls + self.connect_failures > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "rows": self.rows,
            "ok": self.ok,
            "errors": self.errors,
            "errors_by_code": dict(sorted(self.errors_by_code.items())),
            "warnings_by_code": dict(sorted(self.warnings_by_code.items())),
            "api_calls": self.api_calls,
            "connect_failures": self.connect_failures,
            "cache_hits": self.cache_hits,
            "credentials_used": self.credentials_used,
            "retries": {cause: self.retries.get(cause, 0) for cause in CAUSES},
            "seconds": round(self.seconds, 2),
        }


def _remove_in_background(folder: str) -> None:
    """Delete a scratch folder without making the run wait (a file per result takes a while)."""
    threading.Thread(target=shutil.rmtree, args=(folder,), kwargs={"ignore_errors": True}, daemon=False).start()


def _ready(item: Future[Outcome] | Outcome) -> bool:
    return not isinstance(item, Future) or item.done()


class _Lane:
    """One action's rows: its own queue and threads, at most ``window`` of its rows submitted at a time.

    Rows beyond the window wait in the lane's queue without a thread, so a row whose image the run
    has recognised meanwhile is served from memory when its turn comes, not read and sent again.
    """

    def __init__(self, worker: RowWorker, action: str, *, threads: int, window: int) -> None:
        self.worker = worker
        self.action = action
        self.window = window
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"tencent-ocr-{action}")
        self.queue: collections.deque[tuple[ManifestRow, Future[Outcome]]] = collections.deque()
        self.active = 0
        self.lock = threading.Lock()

    def submit(self, row: ManifestRow) -> Future[Outcome]:
        future: Future[Outcome] = Future()
        with self.lock:
            self.queue.append((row, future))
        self._feed()
        return future

    def _feed(self) -> None:
        while True:
            with self.lock:
                if self.active >= self.window or not self.queue:
                    return
                row, future = self.queue.popleft()
                self.active += 1
            known = self.worker.known(row, self.action)  # a repeated image: no thread, no read
            if known is None:
                self.pool.submit(self._process, row, future)
                continue
            future.set_result(known)
            with self.lock:
                self.active -= 1

    def _process(self, row: ManifestRow, future: Future[Outcome]) -> None:
        try:
            future.set_result(self.worker.process(row, self.action))  # never raises
        finally:
            with self.lock:
                self.active -= 1
            self._feed()


class _Lanes:
    """One lane per action, made on the action's first row; a row naming no served action needs none."""

    def __init__(self, worker: RowWorker, document: DocumentFormat, *, threads: int) -> None:
        self.worker = worker
        self.document = document
        self.threads = threads
        self.lanes: dict[str, _Lane] = {}

    def submit(self, row: ManifestRow) -> tuple[ManifestRow, str | None, Future[Outcome] | Outcome]:
        try:
            action = self.document.action_of(row)
        except UnsupportedActionError as err:
            return row, None, self.worker.unsupported(err)
        lane = self.lanes.get(action)
        if lane is None:
            # Twice as many threads as calls may be in flight: rows waiting to retry sleep in their
            # threads without a slot; four times as many rows submitted, so no thread idles.
            lane = self.lanes[action] = _Lane(self.worker, action, threads=self.threads, window=4 * self.threads)
        return row, action, lane.submit(row)

    def __enter__(self) -> _Lanes:
        return self

    def __exit__(self, *exc: object) -> None:
        for lane in self.lanes.values():
            lane.pool.shutdown(wait=True)


class OcrRunner:
    """Drives the recogniser over a manifest into a row sink; may be run again (state is per run)."""

    def __init__(
        self,
        recogniser: Recogniser,
        options: RunOptions | None = None,
        *,
        cache: ResultCache | None = None,
        row_transform: Callable[[Any], Any] | None = None,
        document: DocumentFormat | None = None,
    ) -> None:
        self.recogniser = recogniser
        self.options = options or RunOptions()
        self.cache = cache
        self.row_transform = row_transform
        self.document: DocumentFormat = document or SingaporeFormat()
        self.last_run: RowWorker | None = None  # the latest run's worker: its pacing, concurrency, counts
        # Finished columns of recent results (keyed by the result object, kept alive with it), so repeated
        # rows are not rebuilt: ``row_transform`` must depend on the row's result only, not its identity.
        self._stop = threading.Event()  # stop() was called: the current run (and any later one) stops
        self._built: Bounded[int, tuple[Any, dict[str, Any], Counter[str]]] = Bounded(1024)

    # -- the run ----------------------------------------------------------------------------
    def run(self, manifest: Manifest, sink: RowSink, *, output: str = "") -> RunSummary:
        """Process every row; raises RunAborted on a fatal error (nothing is written then)."""
        started = time.monotonic()
        summary = RunSummary(output=redact_uri(output) or "")  # the summary goes to XCom and messages
        total = manifest.count_rows()
        with ExitStack() as scope:
            cache = self.cache
            if cache is None:
                # Without a cache, identical images in rows that are not in flight together would be
                # billed again: dedupe within the run through a throwaway cache on disk (bounded memory).
                scratch = tempfile.mkdtemp(prefix="tencent-ocr-run-")
                scope.callback(_remove_in_background, scratch)
                cache = scope.enter_context(ResultCache(os.path.join(scratch, "dedup"), claims=False))
            worker = self.last_run = RowWorker(
                self.recogniser, self.options, cache, started=started, document=self.document
            )
            if self._stop.is_set():  # stopped before this run started
                worker.fatal.set()
            with ProgressReporter(total, worker.progress, worker.retries, interval=self.options.progress_interval):
                self._stream(manifest, sink, summary, worker, cache)
        summary.api_calls = worker.calls
        summary.connect_failures = worker.connect_failures
        summary.retries = worker.retries.totals()
        summary.seconds = time.monotonic() - started
        if len(worker.limits) > 1:  # a mixed manifest: how each action's own pacing went
            for action, limits in sorted(worker.limits.items()):
                log.info(
                    "%s: pacing ceiling %.1f requests/s, now %.1f; %d throttle answers",
                    action,
                    limits.pacing.max_rate,
                    limits.pacing.rate,
                    limits.pacing.throttled,
                )
        if self._stop.is_set():
            raise RunStopped(
                f"The run was stopped (the task was killed) after {summary.rows} of {total} rows; nothing was "
                f"published. {_paid_before_stop(worker.obtained, self.cache.uri if self.cache else None)}"
            )
        if worker.config_error is not None:
            raise worker.config_error
        if worker.fatal_error is not None:
            raise fatal_stop(worker.fatal_error, worker.obtained, self.cache.uri if self.cache else None)
        if worker.unreachable or (worker.unreached and not worker.reached):
            raise _unreachable(self.recogniser, worker)
        if not summary.credentials_used and summary.rows:
            log.info(
                "No API call was made: all %d rows were served from the cache or needed no call, so the "
                "connection's credentials were not used and this run does not show that they work",
                summary.rows,
            )
        return summary

    def stop(self) -> None:
        """Stop sending at once (the task is being killed); thread-safe, callable from a signal handler.

        No new call leaves; calls already on the wire finish, and what they paid for is stored in the
        cache. ``run`` then raises :class:`RunStopped` without writing more rows.
        """
        self._stop.set()
        worker = self.last_run
        if worker is not None:
            worker.fatal.set()

    def _stream(
        self, manifest: Manifest, sink: RowSink, summary: RunSummary, worker: RowWorker, cache: ResultCache
    ) -> None:
        """Send every action's rows at that action's own pace; hand rows to the sink in manifest order.

        Each action has its own lane: a pool of threads (twice its calls in flight, so rows waiting
        to retry sleep without a slot) fed by its own queue. A slow action's rows therefore never
        hold the threads a fast action's rows need. Reading runs ahead of the oldest unfinished row
        by at most ``reorder_rows`` rows: finished rows wait there for their turn, so memory stays
        bounded while the fast actions keep going.
        """
        pending: collections.deque[tuple[ManifestRow, str | None, Future[Outcome] | Outcome]] = collections.deque()
        finished: list[dict[str, Any]] = []
        sources: list[tuple[ManifestRow, str | None, Outcome]] = []  # what each finished row was made of
        window = max(self.options.reorder_rows, 8 * self.options.max_in_flight)
        if self.options.return_head_image:  # finished rows then hold portraits: wait with fewer of them
            window = min(window, PORTRAIT_REORDER_ROWS)

        def drain(keep: int) -> None:
            while pending and (len(pending) > keep or _ready(pending[0][2])):
                row, action, item = pending.popleft()
                outcome = item.result() if isinstance(item, Future) else item
                finished.append(self._row(row, action, outcome, summary))
                sources.append((row, action, outcome))
                if len(finished) >= self.options.write_rows and not worker.fatal.is_set():
                    self._write(sink, finished, sources, summary, cache)
                    finished.clear()
                    sources.clear()

        with _Lanes(worker, self.document, threads=2 * self.options.max_in_flight) as lanes:
            for batch in manifest.iter_batches():
                if worker.fatal.is_set():
                    break
                for row in batch:
                    if worker.fatal.is_set():
                        break
                    pending.append(lanes.submit(row))
                    drain(window)
            drain(0)
        if finished and not worker.fatal.is_set():
            self._write(sink, finished, sources, summary, cache)

    def _write(
        self,
        sink: RowSink,
        rows: list[dict[str, Any]],
        sources: list[tuple[ManifestRow, str | None, Outcome]],
        summary: RunSummary,
        cache: ResultCache,
    ) -> None:
        """Hand ``rows`` to the sink; a row the output schema refuses becomes its ``InvalidResponse`` row.

        The read checks (``from_response``) catch the answers known not to fit; this is the net for
        any other: the task goes on, the row keeps only its identity, and its answer leaves the cache,
        so a rerun asks the service again (as for a cached answer that does not fit).
        """
        try:
            sink.write_rows(rows)
        except UnwritableRows as refused:
            for index, cause in zip(refused.indices, refused.causes, strict=True):
                row, action, outcome = sources[index]
                rows[index] = self._refused(rows[index], row, action, outcome, cause, summary)
                if outcome.cache_key is not None:
                    cache.discard(outcome.cache_key)
            log.warning("%d answers did not fit the output table: written as InvalidResponse rows", len(refused.causes))
            sink.write_rows(rows)  # identity columns only: these fit (else a bug, and the task says so)

    def _refused(
        self,
        written: dict[str, Any],
        row: ManifestRow,
        action: str | None,
        outcome: Outcome,
        cause: str,
        summary: RunSummary,
    ) -> dict[str, Any]:
        """The error row replacing a refused one, with the summary moved from its old status to the error."""
        if written.get("status") == "ok":
            summary.ok -= 1
            for code in written.get("warn_codes") or ():
                left = summary.warnings_by_code.get(str(code), 0) - 1
                if left > 0:
                    summary.warnings_by_code[str(code)] = left
                else:
                    summary.warnings_by_code.pop(str(code), None)
        else:
            summary.errors -= 1
            old = written.get("error_code") or "UnknownError"
            summary.errors_by_code[old] = summary.errors_by_code.get(old, 1) - 1
            if not summary.errors_by_code[old]:
                del summary.errors_by_code[old]
        summary.errors += 1
        summary.errors_by_code[INVALID_RESPONSE] = summary.errors_by_code.get(INVALID_RESPONSE, 0) + 1
        out = self.document.build_row(
            row,
            action,
            image_uri=redact_uri(row.image_uri),
            image_sha256=outcome.image_sha256,
            result=None,
            error_code=INVALID_RESPONSE,
            error_message=f"the answer could not be written to the output table ({cause}): it does not fit "
            "the output schema; it was not kept in the cache, so a rerun asks again",
            request_id=outcome.request_id,
            attempts=outcome.attempts,
            ocr_at=outcome.ocr_at,
        )
        return {**out.to_dict(), **self.document.carried(row)}

    def check_error_rate(self, summary: RunSummary) -> None:
        """Raise ErrorRateExceeded when the share of error rows is above ``max_error_rate``."""
        limit = self.options.max_error_rate
        if limit is None or summary.rows == 0 or summary.errors / summary.rows <= limit:
            return
        counts = ", ".join(f"{code}: {n}" for code, n in sorted(summary.errors_by_code.items()))
        raise ErrorRateExceeded(
            f"{summary.errors} of {summary.rows} rows ({summary.errors / summary.rows:.1%}) ended in errors, above "
            f"max_error_rate={limit:.1%} ({counts}). Check the error_code and error_message columns."
        )

    # -- output -------------------------------------------------------------------------------
    def _row(self, row: ManifestRow, action: str | None, outcome: Outcome, summary: RunSummary) -> dict[str, Any]:
        built = self._built.get(id(outcome.result)) if outcome.result is not None else None
        if built is not None and built[0] is outcome.result:  # a repeated result: its columns are known
            _, columns, warn_counts = built
            summary.rows += 1
            summary.ok += 1
            summary.cache_hits += outcome.from_cache
            for code, n in warn_counts.items():
                summary.warnings_by_code[code] = summary.warnings_by_code.get(code, 0) + n
            return {
                **columns,
                "record_id": row.record_id,
                "image_uri": redact_uri(row.image_uri),
                "image_sha256": outcome.image_sha256,
                "request_id": outcome.request_id,
                "attempts": outcome.attempts,
                "ocr_at": outcome.ocr_at,
                **self.document.carried(row),
            }
        out: OutputRow = self.document.build_row(
            row,
            action,
            image_uri=redact_uri(row.image_uri),  # no userinfo, signatures or tokens in the output
            image_sha256=outcome.image_sha256,
            result=outcome.result,
            error_code=outcome.error_code,
            error_message=outcome.error_message,
            request_id=outcome.request_id,
            attempts=outcome.attempts,
            ocr_at=outcome.ocr_at,
        )
        if self.row_transform is not None:
            try:
                out = self.row_transform(out)
            except Exception as err:  # e.g. a portrait that could not be stored: the row says so
                out = out.as_error(
                    "PostProcessingFailed",
                    f"{type(err).__name__} while storing the result (portrait or personal-data step)",
                )
        summary.rows += 1
        summary.cache_hits += outcome.from_cache
        if out.status == "error":
            summary.errors += 1
            code = out.error_code or "UnknownError"
            summary.errors_by_code[code] = summary.errors_by_code.get(code, 0) + 1
        else:
            summary.ok += 1
            warn_counts = Counter(str(c) for c in out.warn_codes or ())
            for code, n in warn_counts.items():
                summary.warnings_by_code[code] = summary.warnings_by_code.get(code, 0) + n
            if outcome.result is not None:  # the row transform depends on the result only: reuse its columns
                self._built.put(id(outcome.result), (outcome.result, out.to_dict(), warn_counts))
        return {**out.to_dict(), **self.document.carried(row)}
