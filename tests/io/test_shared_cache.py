"""Two tasks sharing one result cache, on local disk and on S3 (moto on loopback), as separate processes.

Real processes, real HTTP (the emulator bills every recognition it performs), real object storage
API: what two Airflow tasks on two workers would do. Nothing is lost, and a rerun of either bills 0.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.io.cache import ResultCache
from tencent_ocr_emulator.server import EmulatorServer

# Slow: separate processes sharing a cache, one of them killed with SIGKILL.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OCR_CONN = "tencentcloud_shared_cache_test"

_CHILD = textwrap.dedent(
    """
    import sys
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    listing, cache_uri, out, ocr_conn, storage_conn, in_flight, sync = sys.argv[1:8]
    paths = open(listing).read().split()
    cache = ResultCache(cache_uri, storage_conn_id=storage_conn or None, sync_seconds=float(sync))
    options = RunOptions(max_in_flight=int(in_flight), progress_interval=60)
    runner = OcrRunner(TencentOcrHook(ocr_conn), options, cache=cache)
    with ParquetOutputWriter(out, output_schema()) as writer:
        summary = runner.run(manifest_from_images(paths, batch_rows=5000), writer)
    cache.close()
    print("DONE", summary.api_calls, summary.cache_hits)
    """
)


def _images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{i:03d}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    return paths


class Task:
    """One run of the runner in its own process, over ``paths``, into ``out``, with the shared cache."""

    def __init__(self, tmp: Path, name: str, paths: list[str], cache_uri: str, storage_conn: str, env: dict) -> None:
        self.listing = tmp / f"{name}.txt"
        self.listing.write_text("\n".join(paths))
        self.out = tmp / f"{name}.parquet"
        self.cache_uri, self.storage_conn, self.env = cache_uri, storage_conn, env

    def start(self, *, in_flight: int = 4, sync_seconds: float = 2.0) -> subprocess.Popen:
        args = [sys.executable, "-c", _CHILD, str(self.listing), self.cache_uri, str(self.out), OCR_CONN]
        args += [self.storage_conn, str(in_flight), str(sync_seconds)]
        return subprocess.Popen(args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def rows(self) -> list[dict]:
        return pq.read_table(self.out).to_pylist()


def _finish(procs: list[subprocess.Popen]) -> None:
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=180)
            assert proc.returncode == 0, stderr[-3000:]
            assert stdout.strip().splitlines()[-1].startswith("DONE"), stdout[-2000:]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _where(kind: str, tmp_path: Path, s3, monkeypatch) -> tuple[str, str]:
    """(cache URI, storage connection id) for a cache on ``kind``; the S3 connection goes in the environment."""
    if kind == "local":
        return str(tmp_path / "shared.ocr-cache"), ""
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    return s3.uri(f"{uuid.uuid4().hex}/shared.ocr-cache"), s3.conn_id


def _env(emulator: EmulatorServer) -> dict[str, str]:
    return {
        **os.environ,
        f"AIRFLOW_CONN_{OCR_CONN.upper()}": emulator.connection_json(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_two_runs_sharing_one_cache_lose_nothing_and_reruns_bill_zero(kind, tmp_path, s3, monkeypatch):
    images = _images(tmp_path / "img", 30)
    cache_uri, storage_conn = _where(kind, tmp_path, s3, monkeypatch)
    with EmulatorServer(rate_limit=1000, latency=0.05) as emulator:
        env = _env(emulator)
        # Two tasks at once over overlapping manifests (rows 10-19 are in both).
        first = Task(tmp_path, "a", images[:20], cache_uri, storage_conn, env)
        second = Task(tmp_path, "b", images[10:], cache_uri, storage_conn, env)
        _finish([first.start(), second.start()])
        billed = emulator.stats.billed
        assert all(r["status"] == "ok" for r in first.rows() + second.rows())
        with ResultCache(cache_uri, storage_conn_id=storage_conn or None) as cache:
            assert len(cache) == 30  # every image's result is there: no writer lost another's

        # Both tasks run again, at once: everything comes from the shared cache.
        _finish([first.start(), second.start()])
        assert emulator.stats.billed == billed  # the reruns billed 0
    assert 30 <= billed <= 40  # the overlap may be paid twice only while both ran it at the same moment
    rows = first.rows() + second.rows()
    assert all(r["status"] == "ok" and r["attempts"] == 0 for r in rows) and len(rows) == 40


def test_kill_9_with_a_cache_on_object_storage_loses_only_the_bounded_interval(tmp_path, s3, monkeypatch):
    """A task killed half-way: what it paid for is on S3, except calls in flight and the last sync window."""
    images = _images(tmp_path / "img", 30)
    cache_uri, storage_conn = _where("s3", tmp_path, s3, monkeypatch)
    in_flight, latency, sync_seconds = 2, 0.2, 0.5
    with EmulatorServer(rate_limit=1000, latency=latency) as emulator:
        env = _env(emulator)
        task = Task(tmp_path, "a", images, cache_uri, storage_conn, env)
        child = task.start(in_flight=in_flight, sync_seconds=sync_seconds)
        try:
            deadline = time.monotonic() + 120
            while emulator.stats.billed < 12 and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert child.poll() is None, child.communicate()
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        while emulator.stats.in_flight and time.monotonic() < deadline:  # calls sent before the kill end
            time.sleep(0.02)
        billed_before = emulator.stats.billed
        with ResultCache(cache_uri, storage_conn_id=storage_conn) as cache:
            saved = len(cache)
        # At most the calls in flight, plus what could be obtained in one sync window (the rate is
        # bounded by in_flight / latency), may have been paid for without reaching the store.
        bound = in_flight + math.ceil(in_flight / latency * sync_seconds)
        assert billed_before - saved <= bound, (billed_before, saved)

        _finish([task.start(in_flight=in_flight, sync_seconds=sync_seconds)])
        assert emulator.stats.billed == billed_before + (30 - saved)
    rows = task.rows()
    assert all(r["status"] == "ok" for r in rows) and sum(r["attempts"] == 0 for r in rows) == saved


def test_the_operator_with_output_and_cache_on_s3_reruns_for_free(tmp_path, s3, monkeypatch, tencent_ocr_emulator):
    """The task as users run it: output, portraits and the default cache beside the output, all on S3."""
    import collections
    import types

    from airflow_provider_tencent_ocr.io import storage
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", tencent_ocr_emulator.connection_json())
    images = _images(tmp_path / "img", 6)
    for i, path in enumerate(images):  # known cards: the emulator returns a portrait for them
        tencent_ocr_emulator.recogniser.add(Path(path).read_bytes(), {"EnName": f"SYNTHETIC PERSON {i}"})
    prefix = uuid.uuid4().hex
    output = s3.uri(f"{prefix}/cards.parquet")

    def run() -> dict:
        op = TencentOcrSingaporeIdCardOperator(
            task_id="ocr",
            images=[*images, images[0]],
            output=output,
            storage_conn_id=s3.conn_id,
            photo_output="files",
            progress_interval=60.0,
        )
        return op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})

    first = run()
    billed = tencent_ocr_emulator.stats.billed
    second = run()
    assert (first["ok"], first["api_calls"]) == (7, 6) and billed == 6
    assert (second["ok"], second["api_calls"], second["cache_hits"]) == (7, 0, 7)
    assert tencent_ocr_emulator.stats.billed == billed  # the rerun billed 0
    keys = s3.keys(f"{prefix}/")
    assert sum(k.startswith(f"{prefix}/cards.parquet.ocr-cache/") and k.endswith(".json") for k in keys) == 6
    assert f"{prefix}/cards.parquet" in keys and any(k.startswith(f"{prefix}/photos/") for k in keys)
    local = tmp_path / "out.parquet"
    local.write_bytes(storage.read_bytes(output, conn_id=s3.conn_id))
    rows = pq.read_table(local).to_pylist()
    assert all(r["status"] == "ok" and r["photo_path"].startswith(f"s3://{s3.bucket}/{prefix}/photos/") for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", "s3"])
def test_three_tasks_at_once_over_the_same_images_pay_each_image_once(kind, tmp_path, s3, monkeypatch):
    """Claims: the three tasks start together on the same rows; together they pay at most images + tasks."""
    images = _images(tmp_path / "img", 30)
    cache_uri, storage_conn = _where(kind, tmp_path, s3, monkeypatch)
    with EmulatorServer(rate_limit=1000, latency=0.1) as emulator:
        env = _env(emulator)
        tasks = [Task(tmp_path, name, images, cache_uri, storage_conn, env) for name in "abc"]
        _finish([task.start(in_flight=8) for task in tasks])
        billed = emulator.stats.billed
    assert billed <= 30 + 3, billed
    for task in tasks:
        rows = task.rows()
        assert len(rows) == 30 and all(r["status"] == "ok" for r in rows)
    assert sum(r["attempts"] for task in tasks for r in task.rows()) == billed  # every paid call is in a row
