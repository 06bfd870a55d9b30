"""What a long run tells its task log: a progress line now and then, and each wave of retries.

Only counts, rates and error codes are logged: never an image URI, a record id or a field value,
so nothing personal reaches the log. Retries are summarised per wave (what happened since the
last retry line), never one line per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from airflow_provider_tencent_ocr.run.retries import RetryStats

# The shortest pause between two lines: a smaller interval would flood the task log.
MIN_INTERVAL = 0.05


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run, taken by the reporter."""

    done: int
    errors: int
    in_flight: int  # calls on the wire
    concurrency: float  # the adaptive in-flight limit
    rate: float  # the adaptive pacing rate
    max_rate: float


class ProgressReporter:
    """A daemon thread: a progress line every ``interval`` seconds, a retry line per wave.

    Use as a context manager around the run; on exit the last wave of retries is logged.
    """

    def __init__(
        self,
        total: int,
        snapshot: Callable[[], Progress],
        retries: RetryStats,
        *,
        interval: float,
        wave_interval: float = 5.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.total = total
        self.snapshot = snapshot
        self.retries = retries
        if not interval > 0:  # 0 would log in a busy loop (and NaN never at all)
            raise ValueError(f"progress_interval must be positive seconds, not {interval!r}")
        self.interval = max(interval, MIN_INTERVAL)
        self.wave_interval = min(wave_interval, self.interval)
        self.log = logger or logging.getLogger(__name__)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tencent-ocr-progress", daemon=True)
        self._started = time.monotonic()

    def __enter__(self) -> ProgressReporter:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.log_wave()

    def _loop(self) -> None:
        last_line = last_wave = self._started
        last_done = 0
        tick = min(1.0, self.wave_interval)
        while not self._stop.wait(tick):
            now = time.monotonic()
            if now - last_wave >= self.wave_interval:
                last_wave = now
                self.log_wave()
            if now - last_line >= self.interval:
                last_done = self.log_progress(last_done, now - last_line)
                last_line = now

    def log_progress(self, last_done: int, seconds: float) -> int:
        """One progress line; returns the rows done, for the next line's rate."""
        p = self.snapshot()
        elapsed = time.monotonic() - self._started
        eta = f"{elapsed / p.done * (self.total - p.done):.0f}s" if p.done else "unknown"
        retries = ", ".join(f"{cause} {n}" for cause, n in self.retries.totals().items())
        # Two different rates: rows finished (what the run achieves) and the pacing's ceiling on
        # requests sent (what it would allow). Named so that one never reads as contradicting the other.
        self.log.info(
            "progress: %d/%d rows done (%d ok, %d errors), %.1f rows/s finished over the last %.3g s; "
            "%d calls in flight (limit %d); retries: %s; send-rate cap %.1f requests/s (ceiling %.1f, "
            "lowered only by throttling; not the rate achieved); ETA %s",
            p.done,
            self.total,
            p.done - p.errors,
            p.errors,
            (p.done - last_done) / max(seconds, 1e-9),
            seconds,
            p.in_flight,
            int(p.concurrency),
            retries,
            p.rate,
            p.max_rate,
            eta,
        )
        return p.done

    def log_wave(self) -> None:
        """One line for the retries since the previous one (nothing when there were none)."""
        causes, codes = self.retries.take_wave()
        if not causes:
            return
        p = self.snapshot()
        self.log.info(
            "retrying %d calls (%s; codes: %s); send-rate cap now %.1f requests/s, concurrency limit %d",
            sum(causes.values()),
            ", ".join(f"{cause} {n}" for cause, n in sorted(causes.items())),
            ", ".join(f"{code} {n}" for code, n in sorted(codes.items())),
            p.rate,
            int(p.concurrency),
        )
