"""Pacing shared by every worker of one run: evenly spaced calls, slowed by throttling only.

The limit is per account, not per task, so several tasks on one SecretId must find their share
without talking to each other; the service's ``RequestLimitExceeded`` answers are the only signal.
This follows botocore's ``adaptive`` retry mode: on a throttle the rate drops multiplicatively
(``beta``) from what the client really sent in the last second, then recovers along a CUBIC curve
(slowly near the rate that was throttled, faster once past it). Independent clients that all do
this converge on a fair share of the account's limit, with no coordinator.

One throttle alone in a window is more likely jitter (a request delayed by a busy machine lands in
the next one-second window) than a shared account: it only nudges the rate (``mild_beta``). A
second throttle within the window turns that into the full decrease.

Only throttling moves the rate. A server error or a dropped connection says nothing about the
account's limit, so it never slows the pacing (:meth:`observe` passes over it).

Requests are spaced evenly (no bursts, which the service's one-second window would punish), at
most at ``headroom`` (97%) of the configured rate: evenly spaced requests at exactly the limit
fill every window to the brim, and a few milliseconds of jitter then push one over.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_tencent_ocr.run.limits import CallOutcome


class AdaptiveRateLimiter:
    """Thread-safe pacing at up to ``max_rate`` calls per second, CUBIC-adaptive on throttling."""

    def __init__(
        self,
        max_rate: float,
        *,
        min_rate: float = 0.5,
        beta: float = 0.7,
        mild_beta: float = 0.95,
        scale: float = 1.0,
        headroom: float = 0.97,
        window: float = 1.0,
        late_tolerance: float = 0.015,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_rate <= 0:
            raise ValueError("max_requests_per_second must be positive")
        self.max_rate = float(max_rate) * headroom
        self.min_rate = min(float(min_rate), self.max_rate)
        self.rate = self.max_rate
        self.beta = beta
        self.mild_beta = mild_beta
        self.scale = scale
        self.window = window
        self.late_tolerance = late_tolerance
        self._clock = clock
        self._lock = threading.Lock()
        self._next = clock()
        self._sent: collections.deque[float] = collections.deque()  # send slots in the last window
        self._throttles: collections.deque[float] = collections.deque()  # throttle answers in the last window
        self._last_decrease: float | None = None
        self._last_was_mild = False
        self._rate_at_decrease = self.max_rate  # CUBIC's W_max
        self._k = 0.0  # seconds from a decrease back to W_max
        self.throttled = 0  # throttle answers reported
        self.decreases = 0  # times the rate was actually lowered

    # -- sending ----------------------------------------------------------------------------
    def acquire(self, stop: threading.Event | None = None) -> float:
        """Block until this caller may send; returns the send slot (give it to :meth:`on_throttled`).

        Returns early (without sending being any safer) when ``stop`` is set while waiting.
        """
        with self._lock:
            now = self._clock()
            self._recover(now)
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
            self._sent.append(slot)
            self._trim(now)
        delay = slot - now
        if delay > 0:
            if stop is not None:
                stop.wait(delay)
            else:
                time.sleep(delay)
        late = self._clock() - slot - self.late_tolerance
        if late > 0:
            # A busy machine woke this caller late: the calls after it would follow it too closely,
            # and the service's window would hold one too many. Shift the schedule by the excess.
            with self._lock:
                self._next += late
        return slot

    def measured_rate(self) -> float:
        """Calls per second actually sent over the last window (throttled ones included)."""
        with self._lock:
            self._trim(self._clock())
            return len(self._sent) / self.window

    # -- feedback ---------------------------------------------------------------------------
    def observe(self, outcome: CallOutcome) -> None:
        """Learn from one call's outcome: only a throttle lowers the rate (server errors say nothing of the limit)."""
        if outcome.kind == "throttled":
            self.on_throttled(outcome.sent_at)

    def on_throttled(self, sent_at: float) -> bool:
        """A call sent at ``sent_at`` was throttled; returns whether the rate was lowered.

        One decrease per episode: throttles of calls sent before the last decrease, or within one
        window of it, are the same excess (the service's window still holds those calls), except
        that throttles that go on after a mild decrease escalate it into a full one.
        """
        with self._lock:
            self.throttled += 1
            now = self._clock()
            self._throttles.append(now)
            while self._throttles and self._throttles[0] <= now - self.window:
                self._throttles.popleft()
            burst = len(self._throttles) >= 2
            last = self._last_decrease
            if last is not None and (sent_at < last or now - last < self.window):
                if not (burst and self._last_was_mild and sent_at >= last):
                    return False
            self._trim(now)
            measured = len(self._sent) / self.window
            current = self._current(now)
            # Decrease from what was really sent: a client sending below its pacing rate (few rows,
            # slow answers) must still give way.
            base = max(self.min_rate, min(current, measured) if burst and measured > 0 else current)
            beta = self.beta if burst else self.mild_beta
            self._rate_at_decrease = base
            self._k = (base * (1.0 - beta) / self.scale) ** (1.0 / 3.0)
            self._last_decrease = now
            self._last_was_mild = not burst
            self.rate = max(self.min_rate, base * beta)
            self._next = max(self._next, now + 1.0 / self.rate)
            self.decreases += 1
            return True

    # -- internals --------------------------------------------------------------------------
    def _current(self, now: float) -> float:
        """CUBIC: ``W(t) = scale * (t - K)^3 + W_max``, bounded by [min_rate, max_rate]."""
        if self._last_decrease is None:
            return self.max_rate
        t = now - self._last_decrease
        cubic = self.scale * (t - self._k) ** 3 + self._rate_at_decrease
        return min(self.max_rate, max(self.min_rate, cubic))

    def _recover(self, now: float) -> None:
        self.rate = self._current(now)

    def _trim(self, now: float) -> None:
        horizon = now - self.window
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()
