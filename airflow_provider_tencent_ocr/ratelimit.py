"""One rate limiter shared by every worker: paced, and adaptive when the service still throttles.

Requests are spaced evenly (no bursts, which a per-second window on the server would punish) at
``headroom`` (97%) of the configured rate: evenly spaced requests at exactly the limit fill every
one-second window to the brim, and a few milliseconds of network jitter then push one over.
``RequestLimitExceeded`` means someone else shares the quota, or the quota is lower than
configured: the rate drops multiplicatively, at most once per second (one window), and climbs
back additively (AIMD, as TCP does), so the client converges on what the service really allows.
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
        decrease: float = 0.9,
        recovery_seconds: float = 5.0,
        headroom: float = 0.97,
    ) -> None:
        if max_rate <= 0:
            raise ValueError("max_requests_per_second must be positive")
        self.max_rate = float(max_rate) * headroom
        self.min_rate = min(float(min_rate), self.max_rate)
        self.rate = self.max_rate
        self._decrease = decrease
        # Additive increase per success: back to max_rate in about recovery_seconds of successes.
        self._step = self.max_rate / max(1.0, recovery_seconds * self.max_rate)
        self._next = time.monotonic()
        self._last_decrease = float("-inf")
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
        """Slow down (once per one-second window), and leave a one-interval gap before the next request."""
        with self._lock:
            self.throttled += 1
            now = time.monotonic()
            if now - self._last_decrease < 1.0:
                return  # the same window's excess: one decrease is enough
            self._last_decrease = now
            self.rate = max(self.min_rate, self.rate * self._decrease)
            self._next = max(self._next, now + 1.0 / self.rate)
