"""The runner's parts alone: pacing, adaptive concurrency, retry verdicts and the in-flight map.

A fake clock drives the pacing and the concurrency, so these tests check the rules themselves
(decrease, recovery, growth, shrinking) without depending on how busy the machine is.
"""

from __future__ import annotations

import random
import threading

import pytest

from airflow_provider_tencent_ocr.exceptions import ImageDownloadError, TencentCloudAPIError
from airflow_provider_tencent_ocr.run.concurrency import AdaptiveConcurrency
from airflow_provider_tencent_ocr.run.inflight import InFlight
from airflow_provider_tencent_ocr.run.limits import ActionLimits, CallOutcome
from airflow_provider_tencent_ocr.run.ratelimit import AdaptiveRateLimiter
from airflow_provider_tencent_ocr.run.retries import CallBudget, RetryStats, backoff, judge, retry_downloads


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sent(limiter: AdaptiveRateLimiter, clock: Clock, n: int, per_second: float) -> float:
    """Record ``n`` sends at ``per_second`` (the clock advances; nothing sleeps); returns the last slot."""
    slot = clock.now
    for _ in range(n):
        limiter._next = clock.now  # never wait: the fake clock stands still while acquire sleeps
        slot = limiter.acquire()
        clock.now += 1.0 / per_second
    return slot


# -- pacing -------------------------------------------------------------------------------------------
def test_pacing_starts_at_the_ceiling_with_headroom():
    limiter = AdaptiveRateLimiter(20)
    assert limiter.rate == limiter.max_rate == pytest.approx(19.4)


def test_a_lone_throttle_only_nudges_the_rate():
    """One throttle in a window is likely jitter on a busy machine, not a shared account."""
    clock = Clock()
    limiter = AdaptiveRateLimiter(20, clock=clock)
    slot = sent(limiter, clock, 20, per_second=19.4)
    assert limiter.on_throttled(slot) is True
    assert limiter.rate == pytest.approx(0.95 * 19.4)


def test_throttles_that_go_on_cut_the_rate_from_what_was_really_sent_once_per_episode():
    clock = Clock()
    limiter = AdaptiveRateLimiter(20, clock=clock)
    slot = sent(limiter, clock, 10, per_second=10)  # a task that only manages 10/s
    assert limiter.on_throttled(slot) is True  # a nudge
    assert limiter.on_throttled(slot) is False  # sent before that decrease: the same excess
    assert limiter.on_throttled(clock.now) is True  # sent after it, and still throttled: the full cut
    assert limiter.rate == pytest.approx(0.7 * 10, rel=0.15)  # from the measured 10/s, not from 19.4
    lowered = limiter.rate
    # More throttles within the window of the full cut change nothing.
    clock.now += 0.5
    assert limiter.on_throttled(clock.now) is False
    assert limiter.rate == lowered and limiter.decreases == 2 and limiter.throttled == 4


def test_the_rate_recovers_slowly_along_a_cubic_curve_up_to_the_ceiling():
    clock = Clock()
    limiter = AdaptiveRateLimiter(20, clock=clock)
    slot = sent(limiter, clock, 20, per_second=19.4)
    limiter.on_throttled(slot)
    limiter.on_throttled(clock.now)  # sent after the nudge and still throttled: the full cut
    low = limiter.rate
    assert low == pytest.approx(0.7 * 19.4, rel=0.1)
    k = limiter._k
    rates = []
    for _ in range(12):
        clock.now += k / 4
        limiter._recover(clock.now)
        rates.append(limiter.rate)
    assert rates == sorted(rates) and rates[0] > low
    assert rates[3] == pytest.approx(limiter._rate_at_decrease, rel=0.01)  # back where it was throttled at K
    first_half = rates[1] - rates[0]
    near_plateau = rates[3] - rates[2]
    assert near_plateau < first_half  # concave: slow near the rate that was throttled
    assert rates[-1] == limiter.max_rate  # and never above the configured ceiling


def test_two_clients_throttled_together_end_closer_to_equal_shares():
    """Multiplicative decrease narrows the gap between a greedy and a modest client."""
    clock = Clock()
    big, small = AdaptiveRateLimiter(20, clock=clock), AdaptiveRateLimiter(20, clock=clock)
    big_rate, small_rate = 16.0, 4.0
    for _ in range(4):
        slot_big = sent(big, clock, int(big_rate), per_second=big_rate * 2)
        slot_small = sent(small, clock, max(1, int(small_rate)), per_second=small_rate * 2)
        for limiter, slot in ((big, slot_big), (small, slot_small)):
            limiter.on_throttled(slot)
            limiter.on_throttled(clock.now)
        clock.now += big._k  # both recover to their own W_max
        big._recover(clock.now)
        small._recover(clock.now)
        big_rate, small_rate = big.rate, small.rate
    assert big_rate - small_rate < 16.0 - 4.0


# -- concurrency ----------------------------------------------------------------------------------------
def test_concurrency_grows_while_latency_stays_near_its_minimum():
    gate = AdaptiveConcurrency(16, initial=4)
    for _ in range(4):
        assert gate.acquire()
    for _ in range(6):
        gate.on_latency(0.3)
        assert gate.acquire()  # the room made is used at once
    assert gate.limit == 10  # slow start: one more per answer near the minimum
    for _ in range(20):
        gate.on_latency(0.3)
        if gate.in_flight < int(gate.limit):
            gate.acquire()
    assert gate.limit == 16  # capped by max_in_flight


def test_concurrency_does_not_grow_when_unused():
    gate = AdaptiveConcurrency(16, initial=8)
    assert gate.acquire()  # one call in flight of eight allowed
    for _ in range(10):
        gate.on_latency(0.3)
    assert gate.limit == 8


def test_concurrency_shrinks_when_latency_climbs_or_nears_the_timeout():
    clock = Clock()
    gate = AdaptiveConcurrency(16, initial=10, timeout=30.0, clock=clock)
    for _ in range(10):
        gate.acquire()
    gate.on_latency(2.5)
    assert gate.limit == 11  # near the minimum (it is the minimum): still growing
    gate.on_latency(7.5)  # three times the minimum: a queue has formed
    assert gate.limit == pytest.approx(8.8)
    gate.on_latency(7.5)  # the same round trip: one decrease is enough
    assert gate.limit == pytest.approx(8.8)
    clock.now += 3
    gate.on_latency(7.5)
    assert gate.limit == pytest.approx(7.04)

    near = AdaptiveConcurrency(16, initial=10, timeout=10.0, clock=clock)
    for _ in range(10):
        near.acquire()
    near.on_latency(6.0)  # the first sample is its own minimum, but is past half the timeout
    assert near.limit == pytest.approx(8.0)


def test_latency_noise_on_a_fast_service_does_not_shrink_concurrency():
    gate = AdaptiveConcurrency(16, initial=16, timeout=10.0)
    for _ in range(16):
        gate.acquire()
    gate.on_latency(0.05)
    gate.on_latency(0.2)  # four times the minimum, but only 0.15 s: a busy machine, not a queue
    assert gate.limit == 16
    gate.on_latency(0.9)  # 0.85 s above the minimum: a queue
    assert gate.limit == pytest.approx(12.8)


def test_read_timeouts_halve_concurrency_down_to_one():
    clock = Clock()
    gate = AdaptiveConcurrency(16, initial=16, timeout=30.0, clock=clock)
    gate.on_timeout()
    assert gate.limit == 8
    gate.on_timeout()  # another call of the same wave
    assert gate.limit == 8
    for _ in range(10):
        clock.now += 15
        gate.on_timeout()
    assert gate.limit == 1


def test_the_gate_holds_callers_beyond_the_limit_until_a_release_or_a_stop():
    gate = AdaptiveConcurrency(2, initial=2)
    stop = threading.Event()
    assert gate.acquire(stop) and gate.acquire(stop)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire(stop)))
    waiter.start()
    waiter.join(timeout=0.3)
    assert waiter.is_alive() and gate.in_flight == 2  # held at the limit
    gate.release()
    waiter.join(timeout=5)
    assert got == [True] and gate.in_flight == 2 and gate.peak_in_flight == 2
    blocked = threading.Thread(target=lambda: got.append(gate.acquire(stop)))
    blocked.start()
    stop.set()
    blocked.join(timeout=5)
    assert got == [True, False] and gate.in_flight == 2


# -- retry verdicts -------------------------------------------------------------------------------------
def api_error(code: str, **attrs: object) -> TencentCloudAPIError:
    err = TencentCloudAPIError(code, "m", http_status=attrs.pop("http_status", None))  # type: ignore[arg-type]
    for name, value in attrs.items():
        setattr(err, name, value)
    return err


@pytest.mark.parametrize(
    ("err", "cause", "uses_attempt", "billed", "signal"),
    [
        (api_error("RequestLimitExceeded"), "throttled", False, False, "throttle"),
        (api_error("RequestLimitExceeded.UinLimitExceeded"), "throttled", False, False, "throttle"),
        (api_error("LimitExceeded"), "throttled", False, False, "throttle"),
        (api_error("ServerNetworkError", http_status=429), "throttled", False, False, "throttle"),
        (api_error("InternalError"), "server_error", True, False, None),
        (api_error("ServerNetworkError", http_status=502), "server_error", True, False, None),
        (api_error("FailedOperation.EngineRecognizeTimeout"), "server_error", True, False, "overload"),
        (
            api_error("ClientNetworkError", timeout="read", may_have_been_billed=True),
            "timeout",
            True,
            True,
            "read_timeout",
        ),
        (api_error("ClientNetworkError", timeout="connect", may_have_been_billed=False), "timeout", True, False, None),
        (api_error("ClientNetworkError", timeout=None, may_have_been_billed=True), "network", True, True, None),
        (api_error("ClientNetworkError", timeout=None, may_have_been_billed=False), "network", True, False, None),
    ],
)
def test_verdicts(err, cause, uses_attempt, billed, signal):
    verdict = judge(err)
    assert (verdict.cause, verdict.uses_attempt, verdict.may_have_been_billed, verdict.signal) == (
        cause,
        uses_attempt,
        billed,
        signal,
    )


def test_waits_are_short_for_server_errors_prompt_for_connect_timeouts_and_long_after_read_timeouts():
    rng = random.Random(1)
    server = judge(api_error("InternalError"))
    connect = judge(api_error("ClientNetworkError", timeout="connect", may_have_been_billed=False))
    read = judge(api_error("ClientNetworkError", timeout="read", may_have_been_billed=True))
    throttle = judge(api_error("RequestLimitExceeded"))
    assert all(backoff(server, 1, max_wait=20, rng=rng) <= 0.2 for _ in range(50))
    assert all(backoff(connect, 3, max_wait=20, rng=rng) <= 0.1 for _ in range(50))
    assert all(1.0 <= backoff(read, 1, max_wait=20, rng=rng) <= 2.0 for _ in range(50))
    assert all(backoff(read, 9, max_wait=20, rng=rng) <= 20 for _ in range(50))
    dropped = judge(api_error("ClientNetworkError", timeout=None, may_have_been_billed=True))
    assert all(0.25 <= backoff(dropped, 1, max_wait=20, rng=rng) <= 0.5 for _ in range(50))
    assert all(backoff(throttle, 30, max_wait=20, rng=rng) <= 2.0 for _ in range(50))


def test_a_call_budget_does_not_count_throttles_and_stops_at_the_deadline():
    stats, stop = RetryStats(), threading.Event()
    answers = iter(["RequestLimitExceeded"] * 5 + ["InternalError"] + ["RequestLimitExceeded"] * 2 + [None])
    budget = CallBudget(max_attempts=2, deadline=None, max_wait=0.0, stats=stats, stop=stop)
    budget._wait = lambda state: 0.0  # type: ignore[method-assign]

    def attempt() -> str:
        code = next(answers)
        if code is None:
            return "done"
        err = api_error(code)
        budget.failed(err)
        raise err

    assert budget.run(attempt, lambda e: isinstance(e, TencentCloudAPIError)) == "done"
    assert budget.counted == 1 and stats.totals() == {"throttled": 7, "timeout": 0, "server_error": 1, "network": 0}
    causes, codes = stats.take_wave()
    assert causes == {"throttled": 7, "server_error": 1} and codes == {"RequestLimitExceeded": 7, "InternalError": 1}
    assert stats.take_wave() == ({}, {})

    expired = CallBudget(max_attempts=5, deadline=0.0, max_wait=0.0, stats=stats, stop=stop)
    with pytest.raises(TencentCloudAPIError):
        expired.run(lambda: (_ for _ in ()).throw(api_error("RequestLimitExceeded")), lambda e: True)


# -- in flight --------------------------------------------------------------------------------------------
def test_identical_work_in_flight_runs_once_and_errors_reach_the_waiters():
    flight: InFlight[int] = InFlight()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[tuple[int, bool]] = []
    owner = threading.Thread(target=lambda: results.append(flight.once("k", slow)))
    owner.start()
    started.wait(5)
    joiner = threading.Thread(target=lambda: results.append(flight.once("k", slow)))
    joiner.start()
    release.set()
    owner.join(5)
    joiner.join(5)
    assert sorted(results) == [(42, False), (42, True)] and len(calls) == 1 and len(flight) == 0

    with pytest.raises(ZeroDivisionError):
        flight.once("bad", lambda: 1 // 0)
    assert len(flight) == 0


def test_a_caller_woken_late_shifts_the_schedule_so_later_calls_do_not_bunch():
    clock = Clock()
    limiter = AdaptiveRateLimiter(20, clock=clock)
    interval = 1 / limiter.rate
    limiter.acquire()
    slot = limiter._next
    # Reserved just before its slot; a busy machine wakes it 100 ms after the slot.
    readings = iter([slot - 0.001, slot + 0.1])
    limiter._clock = lambda: next(readings, slot + 0.1)
    assert limiter.acquire() == slot
    assert limiter._next == pytest.approx(slot + interval + 0.1 - limiter.late_tolerance)
    # Woken within the tolerance: the schedule stands.
    slot = limiter._next
    readings = iter([slot - 0.001, slot + 0.005])
    limiter._clock = lambda: next(readings, slot + 0.005)
    limiter.acquire()
    assert limiter._next == pytest.approx(slot + interval)


# -- image downloads: retried by the one retry owner ------------------------------------------------
class _Download:
    """A download that fails ``failures`` times with ``retryable`` errors, then returns bytes."""

    def __init__(self, failures: int, *, retryable: bool = True) -> None:
        self.failures, self.retryable, self.calls = failures, retryable, 0

    def __call__(self) -> bytes:
        self.calls += 1
        if self.calls <= self.failures:
            raise ImageDownloadError("ImageDownloadFailed", "HTTP 503", retryable=self.retryable)
        return b"image"


def test_downloads_are_retried_up_to_max_attempts():
    retrying = retry_downloads(3, 0.01, threading.Event())
    assert retrying(_Download(2)) == b"image"
    gives_up = _Download(5)
    with pytest.raises(ImageDownloadError):
        retrying(gives_up)
    assert gives_up.calls == 3
    lasting = _Download(5, retryable=False)  # a 404: trying again cannot help
    with pytest.raises(ImageDownloadError):
        retrying(lasting)
    assert lasting.calls == 1


def test_a_fatal_stop_ends_download_retries_at_once():
    stop = threading.Event()
    stop.set()
    download = _Download(5)
    with pytest.raises(ImageDownloadError):
        retry_downloads(10, 60.0, stop)(download)  # no 60 s wait, no second try
    assert download.calls == 1


# -- one outcome event feeds both limiters ------------------------------------------------------------
def _api_error(code: str, **kwargs) -> TencentCloudAPIError:
    return TencentCloudAPIError(code, "m", **kwargs)


def test_call_outcomes_are_classified_once_for_both_limiters():
    assert CallOutcome.of(1.0, 0.2).kind == "ok"
    assert CallOutcome.of(1.0, 0.2, _api_error("RequestLimitExceeded")).kind == "throttled"
    assert CallOutcome.of(1.0, 0.2, _api_error("ClientNetworkError", timeout="read")).kind == "read_timeout"
    assert CallOutcome.of(1.0, 0.2, _api_error("FailedOperation.EngineRecognizeTimeout")).kind == "overload"
    assert CallOutcome.of(1.0, 0.2, _api_error("InternalError")).kind == "failed"  # says nothing of the limit
    assert CallOutcome.of(1.0, 0.2, _api_error("AuthFailure.SignatureFailure")).kind == "failed"


def test_a_throttle_slows_the_pacing_and_leaves_the_concurrency_alone():
    clock = Clock()
    limits = ActionLimits(AdaptiveRateLimiter(20.0, clock=clock), AdaptiveConcurrency(16, timeout=10.0, clock=clock))
    slot = sent(limits.pacing, clock, 20, 20.0)
    concurrency_before = limits.concurrency.limit
    limits.observe(CallOutcome(slot, 0.05, "throttled"))
    assert limits.pacing.rate < 20.0 and limits.concurrency.limit == concurrency_before
    limits.observe(CallOutcome(clock.now, 0.05, "failed"))  # a server error: neither limiter moves
    assert limits.pacing.decreases == 1 and limits.concurrency.limit == concurrency_before


def test_timeouts_and_overload_shrink_the_concurrency_and_leave_the_pacing_alone():
    clock = Clock()
    limits = ActionLimits(AdaptiveRateLimiter(20.0, clock=clock), AdaptiveConcurrency(16, timeout=10.0, clock=clock))
    start = limits.concurrency.limit
    limits.observe(CallOutcome(clock.now, 10.0, "read_timeout"))
    assert limits.concurrency.limit == start / 2 and limits.pacing.decreases == 0
    clock.now += 60
    limits.observe(CallOutcome(clock.now, 1.0, "overload"))
    assert limits.concurrency.limit < start / 2 and limits.pacing.rate == limits.pacing.max_rate
