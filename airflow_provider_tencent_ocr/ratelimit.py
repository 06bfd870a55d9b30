"""One rate limiter shared by every worker: paced, and adaptive when the service still throttles.

Requests are spaced evenly at the current rate (no bursts, which a per-second window on the
server would punish). ``RequestLimitExceeded`` means someone else shares the quota, or the quota
is lower than configured: the rate drops multiplicatively and then climbs back additively
(AIMD, as TCP does), so the client converges on what the service really allows.
"""

from __future__ import annotations

import threading
import time


class AdaptiveRateLimiter:
    """Thread-safe pacing at up to ``max_rate`` calls per second."""

    def __init__(
        self,
        max_rate: float,
        *,
        min_rate: float = 0.5,
        decrease: float = 0.7,
        recovery_seconds: float = 10.0,
    ) -> None:
        if max_rate <= 0:
            raise ValueError("max_requests_per_second must be positive")
        self.max_rate = float(max_rate)
        self.min_rate = min(float(min_rate), self.max_rate)
        self.rate = self.max_rate
        self._decrease = decrease
        # Additive increase per success: back to max_rate in about recovery_seconds of successes.
        self._step = self.max_rate / max(1.0, recovery_seconds * self.max_rate)
        self._next = time.monotonic()
        self._lock = threading.Lock()
        self.throttled = 0

    def acquire(self) -> None:
        """Block until this caller may send its request."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        delay = slot - now
        if delay > 0:
            time.sleep(delay)

    def on_success(self) -> None:
        with self._lock:
            self.rate = min(self.max_rate, self.rate + self._step)

    def on_throttled(self) -> None:
        """Slow down, and leave a one-interval gap before the next request."""
        with self._lock:
            self.throttled += 1
            self.rate = max(self.min_rate, self.rate * self._decrease)
            self._next = max(self._next, time.monotonic() + 1.0 / self.rate)
