"""One action's limits, and the one event they learn from: the outcome of each API call.

Like botocore's adaptive retry mode, where every response is an event fed to the client-side rate
limiter, the worker reports each call's outcome once, and each limiter takes what concerns it:
throttles slow the pacing (``ratelimit``); latency, read timeouts and overload answers set how many
calls are in flight (``concurrency``). The worker routes nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError
from airflow_provider_tencent_ocr.run.concurrency import AdaptiveConcurrency
from airflow_provider_tencent_ocr.run.ratelimit import AdaptiveRateLimiter
from airflow_provider_tencent_ocr.run.retries import judge

OutcomeKind = Literal["ok", "throttled", "read_timeout", "overload", "failed"]


@dataclass(frozen=True)
class CallOutcome:
    """What one call's answer says about the service: when it left, how long it took, how it ended."""

    sent_at: float  # the pacing slot the call left in (``AdaptiveRateLimiter.acquire``)
    latency: float  # seconds from sending to the answer, or to the failure
    kind: OutcomeKind

    @classmethod
    def of(cls, sent_at: float, latency: float, error: TencentCloudAPIError | None = None) -> CallOutcome:
        """The outcome of a call that returned (``error`` None) or raised ``error``."""
        if error is None:
            return cls(sent_at, latency, "ok")
        signal = judge(error).signal if error.retryable else None
        kind: OutcomeKind = {"throttle": "throttled", "read_timeout": "read_timeout", "overload": "overload"}.get(
            signal or "", "failed"
        )  # type: ignore[assignment]
        return cls(sent_at, latency, kind)


@dataclass(frozen=True)
class ActionLimits:
    """One action's gates: its pacing (per account and action) and its calls in flight."""

    pacing: AdaptiveRateLimiter
    concurrency: AdaptiveConcurrency

    def observe(self, outcome: CallOutcome) -> None:
        """Feed one call's outcome to both limiters (before the call releases its concurrency slot)."""
        self.pacing.observe(outcome)
        self.concurrency.observe(outcome)
