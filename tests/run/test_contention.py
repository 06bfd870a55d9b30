"""Many clients on one account, and a slow service, over real HTTP against the emulator.

Throttling is back-pressure (never an error row, never an attempt used up), server errors never
slow the pacing, a queueing service gets fewer calls at once instead of paying twice, and a runner
can run again. No timing thresholds: every assertion is about rows, calls and billing.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import OneAtATime, make_png, settled

from airflow_provider_tencent_ocr.actions.singapore_id_card import ACTION
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io.cache import ResultCache
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions, RunSummary
from tencent_ocr_emulator.recognisers import FixtureRecogniser, Recognition
from tencent_ocr_emulator.server import EmulatorServer, Faults

CONN_ID = "tencentcloud_contention_test"
FAST = {"retry_max_wait": 0.5, "progress_interval": 60.0}


class ListSink:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)


@pytest.fixture
def connect(monkeypatch):
    """Point CONN_ID at an emulator; returns a factory of fresh hooks (one per client)."""

    def _connect(emulator: EmulatorServer, **hook_args: Any):
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.connection_json())
        return lambda: TencentOcrHook(CONN_ID, **hook_args)

    return _connect


def write_images(folder: Path, n: int, *, first_seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(first_seed, first_seed + n):
        path = folder / f"card_{i:04d}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    return paths


def run_list(runner: OcrRunner, paths: list[str]) -> tuple[RunSummary, list[dict[str, Any]]]:
    sink = ListSink()
    summary = runner.run(manifest_from_images(paths), sink, output="memory")
    return summary, sink.rows


# -- throttling is back-pressure ---------------------------------------------------------------------
def test_throttle_storm_of_three_clients_on_one_account_ends_with_no_error_rows(tmp_path, connect):
    """Three independent runners, each pacing at 20/s, on one account limited to 12/s."""
    results: dict[int, tuple[RunSummary, list[dict[str, Any]]]] = {}
    failures: list[BaseException] = []
    with EmulatorServer(rate_limit=12, latency=0.02) as emulator:
        new_hook = connect(emulator)
        # max_attempts=1: a throttle that used up an attempt would end its row as an error.
        runners = [OcrRunner(new_hook(), RunOptions(max_attempts=1, **FAST)) for _ in range(3)]
        images = [write_images(tmp_path / f"task{i}", 15, first_seed=100 * i) for i in range(3)]

        def task(i: int) -> None:
            try:
                results[i] = run_list(runners[i], images[i])
            except BaseException as err:  # reported below, in the test's thread
                failures.append(err)

        threads = [threading.Thread(target=task, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        settled(emulator)
    assert not failures
    rows = [row for i in range(3) for row in results[i][1]]
    throttled = emulator.stats.codes.get("RequestLimitExceeded", 0)
    assert throttled > 0, "the storm must have happened"
    assert [r["status"] for r in rows] == ["ok"] * 45, [r["error_code"] for r in rows if r["status"] != "ok"]
    assert emulator.stats.billed == 45 and set(emulator.stats.images.values()) == {1}
    # Every throttle answer was retried, and counted as such in the XCom summaries.
    assert sum(results[i][0].to_dict()["retries"]["throttled"] for i in range(3)) == throttled
    assert any(r.last_run is not None and r.last_run.limits_for(ACTION).pacing.decreases > 0 for r in runners)


def test_throttles_do_not_use_up_max_attempts(tmp_path, connect):
    paths = write_images(tmp_path / "img", 10)
    with EmulatorServer(rate_limit=1000, faults=Faults(throttle=0.4), seed=5) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(max_attempts=1, **FAST))
        summary, rows = run_list(runner, paths)
    assert [r["status"] for r in rows] == ["ok"] * 10
    assert any(r["attempts"] > 1 for r in rows)  # some rows were throttled, and still made it
    assert sum(r["attempts"] for r in rows) == emulator.stats.requests == summary.api_calls
    assert summary.retries["throttled"] == emulator.stats.codes["RequestLimitExceeded"] > 0


def test_the_deadline_bounds_waiting_on_throttles(tmp_path, connect):
    paths = write_images(tmp_path / "img", 3)
    with EmulatorServer(rate_limit=1000, faults=Faults(throttle=1.0)) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(retry_deadline=0.5, **FAST))
        summary, rows = run_list(runner, paths)
    assert [r["error_code"] for r in rows] == ["RequestLimitExceeded"] * 3
    assert summary.errors_by_code == {"RequestLimitExceeded": 3} and emulator.stats.billed == 0


def test_server_errors_retry_without_slowing_the_pacing(tmp_path, connect):
    paths = write_images(tmp_path / "img", 12)
    faults = Faults(internal_error=0.3, http_5xx=0.2)
    with EmulatorServer(rate_limit=1000, faults=faults, seed=11) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(max_attempts=20, **FAST))
        summary, rows = run_list(runner, paths)
    assert [r["status"] for r in rows] == ["ok"] * 12
    assert summary.retries["server_error"] == emulator.stats.requests - 12 > 0
    assert summary.retries["throttled"] == 0
    pacing = runner.last_run.limits_for(ACTION).pacing
    assert pacing.decreases == 0 and pacing.rate == pacing.max_rate


def test_throttles_do_slow_the_pacing(tmp_path, connect):
    """The counterpart of the test above: the same run with throttles lowers the rate."""
    paths = write_images(tmp_path / "img", 12)
    with EmulatorServer(rate_limit=1000, faults=Faults(throttle=0.3), seed=11) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(**FAST))
        summary, rows = run_list(runner, paths)
    assert [r["status"] for r in rows] == ["ok"] * 12
    assert summary.retries["throttled"] > 0 and runner.last_run.limits_for(ACTION).pacing.decreases > 0


# -- a slow service costs time, not money -------------------------------------------------------------
def test_overloaded_service_gets_fewer_calls_at_once_instead_of_paying_twice(tmp_path, connect):
    """One recognition at a time (0.2 s each) behind a 2 s timeout; 16 calls at once would time out."""
    paths = write_images(tmp_path / "img", 14)
    with EmulatorServer(rate_limit=1000, recogniser=OneAtATime(0.2)) as emulator:
        # The runner learns the timeout from the hook (RunOptions.timeout is None).
        runner = OcrRunner(connect(emulator, timeout=2.0)(), RunOptions(max_in_flight=16, **FAST))
        summary, rows = run_list(runner, paths)
        settled(emulator)
        billed = emulator.stats.billed
    assert [r["status"] for r in rows] == ["ok"] * 14, [r["error_code"] for r in rows]
    assert billed <= 1.1 * 14, emulator.stats.images
    assert runner.last_run.limits_for(ACTION).concurrency.timeout == 2.0
    assert emulator.stats.max_in_flight < 10  # 16 at once would have queued past the timeout


def test_read_timeouts_shrink_concurrency_and_are_counted(tmp_path, connect):
    """A service slower than the timeout: the calls fail, but the client stops piling on."""
    paths = write_images(tmp_path / "img", 3)
    with EmulatorServer(rate_limit=1000, recogniser=OneAtATime(0.6)) as emulator:
        runner = OcrRunner(connect(emulator, timeout=0.3)(), RunOptions(max_attempts=2, **FAST))
        summary, rows = run_list(runner, paths)
        settled(emulator)
    assert [r["error_code"] for r in rows] == ["ClientNetworkError"] * 3
    assert summary.retries["timeout"] == 3  # one retry per row, each after a read timeout
    assert runner.last_run.limits_for(ACTION).concurrency.limit == 1.0  # halved on every read timeout, down to one


# -- a runner can run again -----------------------------------------------------------------------------
def test_a_runner_runs_twice_with_fresh_counts_and_its_own_cache(tmp_path, connect):
    paths = write_images(tmp_path / "img", 6)
    with EmulatorServer(rate_limit=1000, faults=Faults(internal_error=0.3), seed=2) as emulator:
        hook = connect(emulator)()
        with ResultCache(str(tmp_path / "cache")) as cache:
            runner = OcrRunner(hook, RunOptions(max_attempts=20, **FAST), cache=cache)
            first, _ = run_list(runner, paths)
            first_worker = runner.last_run
            second, rows = run_list(runner, paths)
            assert runner.cache is cache
        no_cache = OcrRunner(hook, RunOptions(max_attempts=20, **FAST))
        third, _ = run_list(no_cache, paths)
        fourth, _ = run_list(no_cache, paths)
    assert first.ok == second.ok == 6 and first.api_calls >= 6 and first.retries["server_error"] > 0
    assert second.api_calls == 0 and second.cache_hits == 6 and second.rows == 6
    assert second.retries == {"throttled": 0, "timeout": 0, "server_error": 0, "network": 0}
    assert runner.last_run is not first_worker and all(r["attempts"] == 0 for r in rows)
    # Without a durable cache each run pays for itself, and counts only itself.
    assert third.rows == fourth.rows == 6 and third.cache_hits == fourth.cache_hits == 0
    assert third.api_calls >= 6 and fourth.api_calls >= 6
    assert emulator.stats.billed == 18


# -- honest progress ----------------------------------------------------------------------------------
def test_progress_and_retry_lines_give_causes_and_rates_without_personal_data(tmp_path, connect, caplog):
    paths = write_images(tmp_path / "img", 30)
    faults = Faults(internal_error=0.2, throttle=0.2)
    with EmulatorServer(rate_limit=1000, latency=0.03, faults=faults, seed=4) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(max_in_flight=2, max_attempts=30, progress_interval=0.3))
        with caplog.at_level(logging.INFO, logger="airflow_provider_tencent_ocr"):
            summary, rows = run_list(runner, paths)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("airflow_provider_tencent_ocr")]
    progress = [m for m in messages if m.startswith("progress:")]
    waves = [m for m in messages if m.startswith("retrying ")]
    assert summary.ok == 30 and progress and waves
    assert all("rows/s" in m and "calls in flight" in m and "retries: throttled" in m for m in progress)
    assert all("send-rate cap" in m and "concurrency limit" in m for m in waves)
    # Summarised: far fewer retry lines than retries.
    assert len(waves) < sum(summary.retries.values())
    assert any("InternalError" in m for m in waves) and any("RequestLimitExceeded" in m for m in waves)
    private = {r["id_number"] for r in rows} | {r["en_name"] for r in rows} | set(paths) | {str(tmp_path)}
    assert not [m for m in messages for value in private if value and value in m]
    assert json.dumps(summary.to_dict())  # the XCom stays JSON-able with its retry counts


# -- a row waiting to retry holds no slot ---------------------------------------------------------------
class FailsFirst:
    """Recognition fails with ``InternalError`` the first ``times`` times for one image; records the order."""

    name = "fails-first"

    def __init__(self, image: bytes, times: int) -> None:
        import hashlib

        self.inner = FixtureRecogniser()
        self.bad = hashlib.sha256(image).digest()
        self.left = times
        self.order: list[bool] = []  # True for a request of the failing image
        self._lock = threading.Lock()

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition:
        import hashlib

        from tencent_ocr_emulator.recognisers import RecognitionFailed

        bad = hashlib.sha256(image).digest() == self.bad
        with self._lock:
            self.order.append(bad)
            fail = bad and self.left > 0
            self.left -= fail
        if fail:
            raise RecognitionFailed("InternalError", "An internal error has occurred. Retry your request.")
        return self.inner.recognise(image, return_head_image=return_head_image)

    def close(self) -> None:
        self.inner.close()


def test_a_row_waiting_to_retry_lets_fresh_rows_through(tmp_path, connect):
    """One call at a time: while the first row backs off, the others are sent."""
    paths = write_images(tmp_path / "img", 6)
    recogniser = FailsFirst(Path(paths[0]).read_bytes(), times=3)
    with EmulatorServer(rate_limit=1000, latency=0.05, recogniser=recogniser) as emulator:
        runner = OcrRunner(connect(emulator)(), RunOptions(max_in_flight=1, max_attempts=5, **FAST))
        summary, rows = run_list(runner, paths)
    assert [r["status"] for r in rows] == ["ok"] * 6 and rows[0]["attempts"] == 4
    order = recogniser.order
    first, last = order.index(True), len(order) - 1 - order[::-1].index(True)
    assert not all(order[first : last + 1]), order  # fresh rows went between the failing row's attempts
    assert emulator.stats.max_in_flight == 1 and summary.retries["server_error"] == 3
