"""How many calls may be in flight: a limit that follows the service's latency.

A slow or overloaded service queues requests; every request beyond what it answers within the
client's timeout times out, may still be recognised and billed, and is then sent (and billed)
again. So the number in flight must follow what the service can take, as Netflix's
``concurrency-limits`` (Vegas / Gradient) and Envoy's adaptive-concurrency filter do:

- the baseline is the smallest latency seen recently (the service with no queue in front of it);
- while answers come back near the baseline, the limit grows (by one per answer until the first
  sign of queueing, then by about one per round trip);
- when latency climbs well above the baseline (twice it, and by more than 5% of the timeout), or
  towards half the timeout, it shrinks by 20%;
- a read timeout halves it, and an overload answer from the service shrinks it by 20%.

Only answers that went through recognition are latency samples: a throttle or a 502 comes back
fast and would make a queued service look idle.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_tencent_ocr.run.limits import CallOutcome


class AdaptiveConcurrency:
    """Thread-safe gate of at most ``limit`` calls in flight, ``1 <= limit <= max_limit``."""

    def __init__(
        self,
        max_limit: int,
        *,
        initial: int = 4,
        tolerance: float = 2.0,
        timeout: float | None = None,
        decrease: float = 0.8,
        samples: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_limit < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.max_limit = max_limit
        self.limit = float(min(max_limit, max(1, initial)))
        self.tolerance = tolerance
        self.timeout = timeout
        self.decrease = decrease
        self.in_flight = 0
        self.peak_in_flight = 0
        self._clock = clock
        self._cond = threading.Condition()
        self._latencies: collections.deque[float] = collections.deque(maxlen=samples)
        self._slow_start = True
        self._last_decrease = float("-inf")

    @property
    def min_latency(self) -> float | None:
        """The baseline: the smallest latency among the recent samples."""
        with self._cond:
            return min(self._latencies) if self._latencies else None

    # -- the gate ---------------------------------------------------------------------------
    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a free slot; False (no slot taken) when ``stop`` is set meanwhile."""
        with self._cond:
            while self.in_flight >= int(self.limit):
                if stop is not None and stop.is_set():
                    return False
                self._cond.wait(0.25)
            if stop is not None and stop.is_set():
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def release(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify()

    # -- feedback ---------------------------------------------------------------------------
    def observe(self, outcome: CallOutcome) -> None:
        """Learn from one call's outcome (call it before :meth:`release`): latency of answers, timeouts, overload."""
        if outcome.kind == "ok":
            self.on_latency(outcome.latency)
        elif outcome.kind == "read_timeout":
            self.on_timeout()
        elif outcome.kind == "overload":
            self.on_overload()

    def on_latency(self, latency: float) -> None:
        """An answer that went through recognition came back after ``latency`` seconds (call before release)."""
        with self._cond:
            self._latencies.append(latency)
            baseline = min(self._latencies)
            # Well above the baseline, and by more than noise: on a busy machine a 50 ms call often
            # takes 150 ms, which is no queue worth shrinking for (5% of the timeout, or 0.25 s).
            margin = 0.05 * self.timeout if self.timeout else 0.25
            too_slow = latency > self.tolerance * baseline and latency - baseline > margin
            near_timeout = self.timeout is not None and latency > 0.5 * self.timeout
            if too_slow or near_timeout:
                self._shrink(self.decrease, spacing=baseline)
            elif self.in_flight >= self.limit / 2:  # only grow a limit that is in use (caller still holds its slot)
                step = 1.0 if self._slow_start else 1.0 / self.limit
                self.limit = min(float(self.max_limit), self.limit + step)
                self._cond.notify_all()

    def on_timeout(self) -> None:
        """A read timeout: the service is slower than the timeout, so halve what is sent at once.

        Calls sent together time out together: within half a timeout they are one signal.
        """
        with self._cond:
            self._shrink(0.5, spacing=0.5 * self.timeout if self.timeout else 1.0)

    def on_overload(self) -> None:
        """The service said it is overloaded (e.g. ``FailedOperation.EngineRecognizeTimeout``)."""
        with self._cond:
            self._shrink(self.decrease, spacing=min(self._latencies) if self._latencies else 0.0)

    def _shrink(self, factor: float, *, spacing: float) -> None:
        """Lower the limit, at most once per ``spacing`` seconds (answers of one round trip are one signal)."""
        now = self._clock()
        self._slow_start = False
        if now - self._last_decrease < spacing:
            return
        self._last_decrease = now
        self.limit = max(1.0, self.limit * factor)
