"""Retrying one API call: why it failed, whether that uses up an attempt, and how long to wait.

- **throttled** (``RequestLimitExceeded*``, ``LimitExceeded``, HTTP 429): back-pressure from the
  account's limit. Retried until it passes, without using up ``max_attempts``, bounded only by the
  run's deadline; the pacing slows down (see ``ratelimit``).
- **timeout**: a connect timeout never reached the service and is resent promptly; a read timeout
  may have been recognised and billed, so the call waits before resending and fewer calls are
  sent at once (see ``concurrency``).
- **server_error** (``InternalError``, ``ServiceUnavailable``, 5xx, unreadable answers): retried
  after a short jittered wait. It says nothing about the account's limit, so it never slows the
  pacing.
- **network** (refused, reset or dropped connections): retried; when the request may already
  have been sent, after a short wait (longer than for a server error, shorter than for a timeout).

Image downloads are retried here too (:func:`retry_downloads`): a 5xx, a timeout or a dropped
connection of the image's server, up to ``max_attempts`` tries. The loop is tenacity's; for API calls
the per-call budget decides what counts as an attempt.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_when_event_set,
    wait_random_exponential,
)

from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError

T = TypeVar("T")
RetryCause = Literal["throttled", "timeout", "server_error", "network"]
CAUSES: tuple[RetryCause, ...] = ("throttled", "timeout", "server_error", "network")

_OVERLOAD_CODES = frozenset({"FailedOperation.EngineRecognizeTimeout"})


@dataclass(frozen=True)
class RetryVerdict:
    """What a retryable failure means for the call, the pacing and the concurrency."""

    cause: RetryCause
    uses_attempt: bool  # throttles do not use up max_attempts
    may_have_been_billed: bool  # then wait before resending
    signal: Literal["throttle", "read_timeout", "overload"] | None = None  # what the limiters hear


def is_throttle(err: TencentCloudAPIError) -> bool:
    return err.code.startswith("RequestLimitExceeded") or err.code == "LimitExceeded" or err.http_status == 429


def judge(err: TencentCloudAPIError) -> RetryVerdict:
    """The verdict on a retryable API error (the hook's ``timeout``/``may_have_been_billed`` when given)."""
    if is_throttle(err):
        return RetryVerdict("throttled", uses_attempt=False, may_have_been_billed=False, signal="throttle")
    if err.code == "ClientNetworkError":
        timeout = getattr(err, "timeout", None)
        billed = bool(getattr(err, "may_have_been_billed", timeout == "read"))
        if timeout == "read":
            return RetryVerdict("timeout", uses_attempt=True, may_have_been_billed=True, signal="read_timeout")
        if timeout == "connect":
            return RetryVerdict("timeout", uses_attempt=True, may_have_been_billed=False)
        return RetryVerdict("network", uses_attempt=True, may_have_been_billed=billed)
    if err.code in _OVERLOAD_CODES:
        return RetryVerdict("server_error", uses_attempt=True, may_have_been_billed=False, signal="overload")
    return RetryVerdict("server_error", uses_attempt=True, may_have_been_billed=False)


def backoff(verdict: RetryVerdict, retries: int, *, max_wait: float, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``retries`` (1-based) of this kind, with full jitter.

    Throttles and server errors retry soon (the pacing, not the wait, spreads them out). After a
    read timeout the service is slower than the timeout: wait seconds, giving it time to drain its
    queue. A connection lost after sending waits a little (it may have been recognised, and the
    service may be struggling), but a drop says nothing about a queue, so not as long.
    """
    draw: random.Random | Any = rng or random  # the module's functions are its shared Random's
    if verdict.signal == "read_timeout":
        return min(max_wait, 2.0 * 2 ** (retries - 1)) * draw.uniform(0.5, 1.0)
    if verdict.may_have_been_billed:
        return min(max_wait, 0.5 * 2 ** (retries - 1)) * draw.uniform(0.5, 1.0)
    if verdict.cause == "timeout":  # connect timeout: the request never left, resend promptly
        return draw.uniform(0.0, 0.1)
    cap = 2.0 if verdict.cause == "throttled" else max_wait
    return draw.uniform(0.0, min(cap, 0.1 * 2**retries))


class RetryStats:
    """Retries of one run by cause and by code, with "waves" (what happened since the last log line)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_cause: collections.Counter[str] = collections.Counter({cause: 0 for cause in CAUSES})
        self._wave_causes: collections.Counter[str] = collections.Counter()
        self._wave_codes: collections.Counter[str] = collections.Counter()

    def record(self, verdict: RetryVerdict, code: str) -> None:
        with self._lock:
            self.by_cause[verdict.cause] += 1
            self._wave_causes[verdict.cause] += 1
            self._wave_codes[code] += 1

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {cause: self.by_cause[cause] for cause in CAUSES}

    def take_wave(self) -> tuple[dict[str, int], dict[str, int]]:
        """Retries by cause and by error code since the previous call (empty when none)."""
        with self._lock:
            causes, codes = dict(self._wave_causes), dict(self._wave_codes)
            self._wave_causes.clear()
            self._wave_codes.clear()
        return causes, codes


class CallBudget:
    """One call's retry budget: ``max_attempts`` attempts that count, all before ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value (the run's), or None for no deadline.
    """

    def __init__(
        self,
        max_attempts: int,
        deadline: float | None,
        max_wait: float,
        stats: RetryStats,
        stop: threading.Event,
    ) -> None:
        self.max_attempts = max_attempts
        self.deadline = deadline
        self.max_wait = max_wait
        self.stats = stats
        self.stop_event = stop
        self.counted = 0  # attempts that used up the budget
        self.by_cause: collections.Counter[str] = collections.Counter()
        self._last: RetryVerdict | None = None

    def failed(self, err: TencentCloudAPIError) -> RetryVerdict:
        """Account for a retryable failure of the latest attempt (call it before re-raising)."""
        verdict = judge(err)
        self._last = verdict
        self.counted += verdict.uses_attempt
        self.by_cause[verdict.cause] += 1
        return verdict

    def _exhausted(self, state: RetryCallState) -> bool:
        if self.stop_event.is_set():
            return True
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return True
        return self.counted >= self.max_attempts

    def _wait(self, state: RetryCallState) -> float:
        verdict = self._last
        if verdict is None:  # not an API error (e.g. a download): plain exponential backoff
            return random.uniform(0.0, min(self.max_wait, 0.5 * 2**state.attempt_number))
        delay = backoff(verdict, self.by_cause[verdict.cause], max_wait=self.max_wait)
        if self.deadline is not None:
            delay = max(0.0, min(delay, self.deadline - time.monotonic()))
        return delay

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if self._last is not None and isinstance(exc, TencentCloudAPIError):
            self.stats.record(self._last, exc.code)

    def run(self, attempt: Callable[[], T], retryable: Callable[[BaseException], bool]) -> T:
        """Call ``attempt`` until it returns, a non-retryable error is raised, or the budget is spent.

        Waiting holds no concurrency slot (``attempt`` takes and releases its own), so a row
        waiting to retry never keeps a fresh row from being sent; a fatal stop ends the wait.
        """
        retrying = Retrying(
            stop=self._exhausted,
            wait=self._wait,
            retry=retry_if_exception(retryable),
            before_sleep=self._before_sleep,
            sleep=sleep_until_set(self.stop_event),
            reraise=True,
        )
        return retrying(attempt)


def sleep_until_set(event: threading.Event) -> Callable[[float], None]:
    """tenacity's ``sleep``: wait the seconds, or less when ``event`` is set (a fatal stop ends the wait)."""

    def sleep(seconds: float) -> None:
        event.wait(seconds)

    return sleep


def _retryable_download(err: BaseException) -> bool:
    return getattr(err, "retryable", False) is True  # ImageDownloadError says whether trying again may help


def retry_downloads(max_attempts: int, max_wait: float, stop: threading.Event) -> Retrying:
    """The retry policy of image downloads, shared by a run's threads (tenacity keeps per-call state per thread).

    ``max_attempts`` tries of a download whose error is ``retryable`` (a 5xx, a timeout, a dropped
    connection), with jittered exponential waits up to ``max_wait``; a fatal stop of the run ends the
    waiting and the retrying at once.
    """
    return Retrying(
        stop=stop_after_attempt(max_attempts) | stop_when_event_set(stop),
        wait=wait_random_exponential(multiplier=0.5, max=max_wait),
        retry=retry_if_exception(_retryable_download),
        sleep=sleep_until_set(stop),
        reraise=True,
    )
