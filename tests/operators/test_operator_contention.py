"""The operator's arguments for contention and slow services reach the runner and the hook.

Over real HTTP against the emulator: ``timeout`` reaches the hook (and so the adaptive concurrency),
``retry_deadline`` bounds waiting on throttles, throttles do not use up ``max_attempts``, and the
XCom summary carries the retries by cause.
"""

from __future__ import annotations

import collections
import types
from pathlib import Path

import pyarrow.parquet as pq
from helpers import OneAtATime, make_png, settled

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from tencent_ocr_emulator.server import EmulatorServer, Faults


def images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{i}.png"
        path.write_bytes(make_png(5, 5, seed=i))
        paths.append(str(path))
    return paths


def run(tmp_path: Path, emulator: EmulatorServer, monkeypatch, **kwargs) -> tuple[dict, list[dict]]:
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
    output = str(tmp_path / "out" / "cards.parquet")
    op = TencentOcrSingaporeIdCardOperator(task_id="ocr", output=output, progress_interval=60.0, **kwargs)
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    return result, pq.read_table(output).to_pylist()


def test_timeout_reaches_the_hook_and_a_queueing_service_is_billed_once(tmp_path, monkeypatch):
    paths = images(tmp_path / "img", 12)
    with EmulatorServer(rate_limit=1000, recogniser=OneAtATime(0.2)) as emulator:
        result, rows = run(tmp_path, emulator, monkeypatch, images=paths, timeout=2.0, max_in_flight=16)
        settled(emulator)
    assert [r["status"] for r in rows] == ["ok"] * 12
    assert emulator.stats.billed <= 1.1 * 12 and emulator.stats.max_in_flight < 10
    assert set(result["retries"]) == {"throttled", "timeout", "server_error", "network"}


def test_throttles_are_retried_past_max_attempts_until_the_deadline(tmp_path, monkeypatch):
    paths = images(tmp_path / "img", 6)
    with EmulatorServer(rate_limit=1000, faults=Faults(throttle=0.4), seed=3) as emulator:
        result, rows = run(tmp_path, emulator, monkeypatch, images=paths, max_attempts=1)
    assert [r["status"] for r in rows] == ["ok"] * 6
    assert result["retries"]["throttled"] == emulator.stats.codes["RequestLimitExceeded"] > 0

    with EmulatorServer(rate_limit=1000, faults=Faults(throttle=1.0)) as emulator:
        # A fresh output (and so a fresh cache: the first run's results would be served from it).
        result, rows = run(tmp_path / "second", emulator, monkeypatch, images=paths[:2], retry_deadline=0.3)
    assert [r["error_code"] for r in rows] == ["RequestLimitExceeded"] * 2
    assert result["errors_by_code"] == {"RequestLimitExceeded": 2}
