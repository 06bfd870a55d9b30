"""The runner over real HTTP against the emulator: retries, throttling, fatal stops, error rates, resume.

No mocks: a real ``TencentOcrHook`` signs real requests to an in-process ``EmulatorServer`` on
loopback, which injects the faults. Sizes are small so the module runs in a few seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io.cache import ResultCache
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
from airflow_provider_tencent_ocr.run.runner import ErrorRateExceeded, OcrRunner, RunAborted, RunOptions
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer, Faults

CONN_ID = "tencentcloud_runner_test"
FAST = {"retry_max_wait": 0.05, "progress_interval": 60.0}


class ListSink:
    """A RowSink that keeps the rows, and the batches they came in."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        self.batches.append(list(rows))

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for batch in self.batches for row in batch]


@pytest.fixture
def connect(monkeypatch):
    """Point CONN_ID at an emulator and return a fresh hook for it."""

    def _connect(emulator: EmulatorServer, **conn_overrides: Any) -> TencentOcrHook:
        conn = json.loads(emulator.connection_json())
        conn.update(conn_overrides)
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
        return TencentOcrHook(CONN_ID)

    return _connect


def write_images(folder: Path, n: int, *, first_seed: int = 0) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{first_seed + i:04d}.png"
        path.write_bytes(make_png(6, 6, seed=first_seed + i))
        paths.append(str(path))
    return paths


def run_list(hook, paths, *, cache=None, batch_rows=5000, **options):
    sink = ListSink()
    runner = OcrRunner(hook, RunOptions(**{**FAST, **options}), cache=cache)
    summary = runner.run(manifest_from_images(paths, batch_rows=batch_rows), sink, output="memory")
    return summary, sink.rows


# -- the basics ------------------------------------------------------------------------------------
def test_every_row_once_in_manifest_order_with_local_errors(tmp_path, connect):
    paths = write_images(tmp_path / "img", 9)
    # Missing file, blank URI and a non-image between good ones; rows in several batches.
    (tmp_path / "not_an_image.png").write_bytes(b"GIF89a this is not a supported format")
    manifest = [*paths[:3], str(tmp_path / "missing.png"), "  ", *paths[3:6], str(tmp_path / "not_an_image.png")]
    manifest += paths[6:]
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        summary, rows = run_list(hook, manifest, batch_rows=4, max_in_flight=4)
    assert [r["record_id"] for r in rows] == [str(i) for i in range(len(manifest))]
    assert [r["image_uri"] for r in rows] == manifest
    codes = {i: r["error_code"] for i, r in enumerate(rows) if r["status"] == "error"}
    assert codes == {3: "ImageNotFound", 4: "InvalidManifestRow", 8: "UnsupportedImageFormat"}
    assert summary.rows == 12 and summary.ok == 9 and summary.errors == 3
    assert summary.errors_by_code == {"ImageNotFound": 1, "InvalidManifestRow": 1, "UnsupportedImageFormat": 1}
    assert emulator.stats.billed == 9 == summary.api_calls
    assert all(r["attempts"] == 1 and r["request_id"] for r in rows if r["status"] == "ok")


def test_same_image_in_many_rows_is_one_call(tmp_path, connect):
    paths = write_images(tmp_path / "img", 2)
    manifest = [paths[0], paths[1], paths[0], paths[0], paths[1], paths[0]]
    with EmulatorServer(rate_limit=1000, latency=0.05) as emulator:
        hook = connect(emulator)
        with ResultCache(str(tmp_path / "cache.sqlite")) as cache:
            summary, rows = run_list(hook, manifest, cache=cache, batch_rows=2, max_in_flight=4)
    assert emulator.stats.billed == 2 and summary.api_calls == 2
    assert sorted(emulator.stats.images.values()) == [1, 1]
    assert all(r["status"] == "ok" and r["id_number"] for r in rows)
    by_uri: dict[str, set[str]] = {}
    for r in rows:
        by_uri.setdefault(r["image_uri"], set()).add(r["id_number"])
    assert all(len(ids) == 1 for ids in by_uri.values())
    assert sum(r["attempts"] for r in rows) == 2


def test_same_image_in_many_rows_is_one_call_without_a_cache(tmp_path, connect):
    paths = write_images(tmp_path / "img", 2)
    manifest = [paths[0], paths[1], paths[0], paths[1], paths[0]]
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        summary, rows = run_list(hook, manifest, batch_rows=2, max_in_flight=1)
    assert all(r["status"] == "ok" for r in rows)
    assert emulator.stats.billed == 2, emulator.stats.images


# -- retries -------------------------------------------------------------------------------------
def test_transient_faults_are_retried_until_success(tmp_path, connect):
    paths = write_images(tmp_path / "img", 16)
    faults = Faults(internal_error=0.3, http_5xx=0.3)
    with EmulatorServer(rate_limit=1000, faults=faults, seed=7) as emulator:
        hook = connect(emulator)
        summary, rows = run_list(hook, paths, max_in_flight=4, max_attempts=12)
    assert [r["status"] for r in rows] == ["ok"] * 16, [r["error_code"] for r in rows]
    assert any(r["attempts"] > 1 for r in rows)
    assert emulator.stats.codes.get("InternalError", 0) > 0
    # Every request the emulator saw is counted on some row, and each image was billed once.
    assert sum(r["attempts"] for r in rows) == emulator.stats.requests == summary.api_calls
    assert emulator.stats.billed == 16


def test_dropped_connections_are_retried(tmp_path, connect):
    paths = write_images(tmp_path / "img", 8)
    with EmulatorServer(rate_limit=1000, faults=Faults(drop=0.4), seed=3) as emulator:
        hook = connect(emulator)
        _, rows = run_list(hook, paths, max_in_flight=2, max_attempts=12)
    assert [r["status"] for r in rows] == ["ok"] * 8, [r["error_code"] for r in rows]
    assert any(r["attempts"] > 1 for r in rows)
    assert emulator.stats.billed == 8


def test_retries_give_up_after_max_attempts(tmp_path, connect):
    paths = write_images(tmp_path / "img", 3)
    with EmulatorServer(rate_limit=1000, faults=Faults(internal_error=1.0)) as emulator:
        hook = connect(emulator)
        summary, rows = run_list(hook, paths, max_in_flight=3, max_attempts=3)
    assert [(r["status"], r["error_code"], r["attempts"]) for r in rows] == [("error", "InternalError", 3)] * 3
    assert emulator.stats.requests == 9 and emulator.stats.billed == 0
    assert summary.errors_by_code == {"InternalError": 3}


def test_throttling_converges_on_the_service_limit(tmp_path, connect):
    paths = write_images(tmp_path / "img", 16)
    with EmulatorServer(rate_limit=8) as emulator:
        hook = connect(emulator)
        summary, rows = run_list(
            hook, paths, max_in_flight=6, max_requests_per_second=20, max_attempts=10, retry_max_wait=1.0
        )
    assert emulator.stats.codes.get("RequestLimitExceeded", 0) > 0  # the service did throttle
    assert [r["status"] for r in rows] == ["ok"] * 16
    assert not any((r["error_code"] or "").startswith("RequestLimitExceeded") for r in rows)
    assert emulator.stats.billed == 16
    # Far fewer throttled answers than a client ignoring them would get (it would retry ~every row).
    assert emulator.stats.codes["RequestLimitExceeded"] < 16


# -- fatal errors, resume --------------------------------------------------------------------------
def test_wrong_key_stops_the_run_promptly(tmp_path, connect):
    paths = write_images(tmp_path / "img", 40)
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator, password="not-the-right-secret-key")
        sink = ListSink()
        runner = OcrRunner(hook, RunOptions(max_in_flight=4, **FAST))
        with pytest.raises(RunAborted) as raised:
            runner.run(manifest_from_images(paths, batch_rows=10), sink)
    assert raised.value.error.code.startswith("AuthFailure")
    assert raised.value.error.code in str(raised.value)
    assert "kept in the cache" not in str(raised.value)  # no cache given: none is promised
    assert emulator.stats.requests <= 4  # one per worker at most, not one per row
    assert emulator.stats.billed == 0
    assert sink.rows == []


def _fatal_half_way(tmp_path, paths, fatal_index):
    recogniser = FixtureRecogniser()
    data = Path(paths[fatal_index]).read_bytes()
    digest = recogniser.add(data, {})
    recogniser.table[digest] = {"Error": {"Code": "FailedOperation.UnOpenError", "Message": "Service not opened."}}
    return recogniser, digest


def test_fatal_error_keeps_paid_results_and_a_rerun_resumes(tmp_path, connect):
    paths = write_images(tmp_path / "img", 20)
    recogniser, bad_digest = _fatal_half_way(tmp_path, paths, 10)
    cache_path = str(tmp_path / "cache.sqlite")
    out = tmp_path / "out.parquet"
    with EmulatorServer(rate_limit=1000, recogniser=recogniser) as emulator:
        hook = connect(emulator)
        options = RunOptions(max_in_flight=1, **FAST)
        with ResultCache(cache_path) as cache, pytest.raises(RunAborted) as raised:
            with ParquetOutputWriter(str(out), output_schema()) as writer:
                OcrRunner(hook, options, cache=cache).run(manifest_from_images(paths, batch_rows=4), writer)
        assert raised.value.error.code == "FailedOperation.UnOpenError"
        assert "FailedOperation.UnOpenError" in str(raised.value) and cache_path in str(raised.value)
        # One call at a time, but the pool has a second row under way, which may go first: row 9
        # may be stopped, or row 11 may be paid for before row 10 stops the run.
        obtained = emulator.stats.billed
        assert obtained in (9, 10, 11) and f"The {obtained} results paid for before the stop are saved" in str(
            raised.value
        )
        assert emulator.stats.requests == obtained + 1  # stopped at the fatal answer: nothing after it was sent
        assert not out.exists()  # no partial output
        with ResultCache(cache_path) as cache:
            assert len(cache) == obtained

        # The account is fixed; the same job runs again with the same cache.
        del recogniser.table[bad_digest]
        with ResultCache(cache_path) as cache:
            with ParquetOutputWriter(str(out), output_schema()) as writer:
                summary = OcrRunner(hook, options, cache=cache).run(manifest_from_images(paths, batch_rows=4), writer)
        billed = emulator.stats.billed
        images = dict(emulator.stats.images)
    table = pq.read_table(out).to_pylist()
    assert [r["record_id"] for r in table] == [str(i) for i in range(20)]
    assert all(r["status"] == "ok" for r in table)
    assert sorted(r["attempts"] for r in table) == [0] * obtained + [1] * (20 - obtained)
    assert all(r["attempts"] == 0 for r in table[:9])  # rows before the stop were kept in the cache
    assert summary.cache_hits == obtained and summary.api_calls == 20 - obtained
    assert billed == 20 and set(images.values()) == {1}


def test_superset_manifest_only_pays_for_new_images(tmp_path, connect):
    first = write_images(tmp_path / "img", 6)
    more = write_images(tmp_path / "img", 4, first_seed=6)
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        with ResultCache(str(tmp_path / "c.sqlite")) as cache:
            run_list(hook, first, cache=cache, max_in_flight=3)
        with ResultCache(str(tmp_path / "c.sqlite")) as cache:
            summary, rows = run_list(hook, first + more, cache=cache, max_in_flight=3)
    assert emulator.stats.billed == 10
    assert [r["attempts"] for r in rows] == [0] * 6 + [1] * 4
    assert summary.cache_hits == 6 and all(r["status"] == "ok" for r in rows)


# -- error rate --------------------------------------------------------------------------------------
def test_error_rate_exceeded_after_the_output_was_written(tmp_path, connect):
    paths = write_images(tmp_path / "img", 3)
    manifest = [*paths, str(tmp_path / "gone1.png"), str(tmp_path / "gone2.png")]
    out = tmp_path / "out.parquet"
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        runner = OcrRunner(hook, RunOptions(max_error_rate=0.2, **FAST))
        with ParquetOutputWriter(str(out), output_schema()) as writer:
            summary = runner.run(manifest_from_images(manifest), writer, output=str(out))
        with pytest.raises(ErrorRateExceeded) as raised:
            runner.check_error_rate(summary)
    message = str(raised.value)
    assert "2 of 5 rows" in message and "ImageNotFound: 2" in message
    assert "check the images" not in message
    assert pq.read_table(out).num_rows == 5
    # At the limit exactly, no failure.
    OcrRunner(hook, RunOptions(max_error_rate=0.4)).check_error_rate(summary)


# -- a real crash ------------------------------------------------------------------------------------
_CHILD = textwrap.dedent(
    """
    import sys
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    paths = open(sys.argv[1]).read().split()
    cache = ResultCache(sys.argv[2])
    runner = OcrRunner(TencentOcrHook(sys.argv[4]), RunOptions(max_in_flight=4, progress_interval=60), cache=cache)
    with ParquetOutputWriter(sys.argv[3], output_schema()) as writer:
        summary = runner.run(manifest_from_images(paths, batch_rows=10), writer)
    cache.close()
    print("DONE", summary.api_calls, summary.cache_hits)
    """
)


@pytest.mark.slow
def test_sigkill_half_way_then_rerun_pays_at_most_in_flight_twice(tmp_path, connect):
    paths = write_images(tmp_path / "img", 40)
    listing = tmp_path / "paths.txt"
    listing.write_text("\n".join(paths))
    cache_path, out = str(tmp_path / "cache.sqlite"), str(tmp_path / "out.parquet")
    with EmulatorServer(rate_limit=1000, latency=0.1) as emulator:
        connect(emulator)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        args = [sys.executable, "-c", _CHILD, str(listing), cache_path, out, CONN_ID]
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while emulator.stats.billed < 16 and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert child.poll() is None, child.communicate()
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == -signal.SIGKILL
        billed_before = emulator.stats.billed
        assert 16 <= billed_before < 40
        assert not Path(out).exists()

        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert rerun.stdout.strip().splitlines()[-1].startswith("DONE"), rerun.stdout[-2000:]
        billed = emulator.stats.billed
    rows = pq.read_table(out).to_pylist()
    assert [r["record_id"] for r in rows] == [str(i) for i in range(40)]
    assert all(r["status"] == "ok" for r in rows)
    assert billed <= 40 + 4
    cached = sum(1 for r in rows if r["attempts"] == 0)
    assert cached >= billed_before - 4


# -- progress ----------------------------------------------------------------------------------------
def test_progress_lines_give_counts_rate_and_eta_without_personal_data(tmp_path, connect, caplog):
    import logging

    recogniser = FixtureRecogniser()
    with EmulatorServer(recogniser=recogniser, rate_limit=1000, latency=0.05) as emulator:
        hook = connect(emulator)
        paths = write_images(tmp_path, 30)
        with caplog.at_level(logging.INFO, logger="airflow_provider_tencent_ocr.run.runner"):
            summary, rows = run_list(hook, paths, max_in_flight=2, progress_interval=0.2)
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress:")]
    assert summary.ok == 30 and progress, "a run of ~0.8 s at 0.2 s intervals must log progress"
    assert all("/30 rows" in line and "requests/s" in line and "ETA" in line for line in progress)
    secrets = {row["id_number"] for row in rows} | {row["en_name"] for row in rows} | set(paths)
    assert not any(value in line for value in secrets for line in progress)


# -- robustness ------------------------------------------------------------------------------------
class SlowSecondLookupCache(ResultCache):
    """A real cache whose second lookup is slow: the window in which two rows could both miss."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.lookups = 0

    def get(self, key: str):
        self.lookups += 1
        found = super().get(key)
        if self.lookups == 2:
            time.sleep(0.3)  # answer "not cached" late, after the other row has stored its result
        return found


def test_identical_images_never_both_pay_even_when_a_lookup_is_slow(tmp_path, connect):
    image = write_images(tmp_path / "img", 1)[0]
    with EmulatorServer(rate_limit=1000, latency=0.1) as emulator:  # the first call is still in flight
        hook = connect(emulator)
        cache = SlowSecondLookupCache(str(tmp_path / "cache.sqlite"))
        summary, rows = run_list(hook, [image, image, image], cache=cache, max_in_flight=3)
        cache.close()
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert emulator.stats.billed == 1 and summary.api_calls == 1


def test_a_failing_row_step_becomes_an_error_row_not_a_lost_run(tmp_path, connect):
    paths = write_images(tmp_path / "img", 4)

    def transform(row):
        if row["record_id"] == "2":
            raise OSError("disk full")
        return row

    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        sink = ListSink()
        runner = OcrRunner(hook, RunOptions(**FAST), row_transform=transform)
        summary = runner.run(manifest_from_images(paths), sink)
    rows = sink.rows
    assert [r["status"] for r in rows] == ["ok", "ok", "error", "ok"]
    assert rows[2]["error_code"] == "PostProcessingFailed" and rows[2]["id_number"] is None
    assert summary.errors_by_code == {"PostProcessingFailed": 1}


def test_an_unexpected_client_error_becomes_an_error_row(tmp_path, connect):
    paths = write_images(tmp_path / "img", 3)

    class FlakyHook:
        """The real hook, except that one image trips a bug-like exception on the client side."""

        def __init__(self, hook: TencentOcrHook) -> None:
            self.hook, self.calls = hook, 0

        def request_timeout(self) -> float:
            return self.hook.request_timeout()

        def warm_up(self) -> None:
            self.hook.warm_up()

        def recognize_singapore_id_card(self, **kwargs):
            self.calls += 1
            if self.calls == 2:
                raise KeyError("unexpected")
            return self.hook.recognize_singapore_id_card(**kwargs)

    with EmulatorServer(rate_limit=1000) as emulator:
        summary, rows = run_list(FlakyHook(connect(emulator)), paths, max_in_flight=1)
    assert [r["status"] for r in rows].count("error") == 1
    assert summary.errors_by_code == {"InternalClientError": 1} and summary.ok == 2


def test_output_chunks_follow_write_rows_not_the_manifest_batches(tmp_path, connect):
    paths = write_images(tmp_path / "img", 7)
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        sink = ListSink()
        options = RunOptions(**{**FAST, "write_rows": 3})
        OcrRunner(hook, options).run(manifest_from_images(paths, batch_rows=2), sink, output="memory")
    assert [len(batch) for batch in sink.batches] == [3, 3, 1]
    assert [row["record_id"] for row in sink.rows] == [str(i) for i in range(7)]
