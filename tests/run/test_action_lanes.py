"""Pacing per action: each action of a mixed manifest runs at its own limit, at the same time.

Real HTTP against the emulator (its account limit set high, so only the client's pacing is
observed): a ``DocumentFormat`` sends two kinds of row under two action names through the
Singapore endpoint, one paced at 20/s and one at 4/s, interleaved in the manifest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io.manifest import ManifestRow, manifest_from_images
from airflow_provider_tencent_ocr.run.documents import SingaporeFormat, UnsupportedActionError
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions
from tencent_ocr_emulator.server import EmulatorServer

FAST, SLOW = "FastAction", "SlowAction"
CONN_ID = "tencentcloud_action_lanes"


class ListSink:
    """A RowSink that keeps the rows."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)


@pytest.fixture
def connect(monkeypatch):
    """Point CONN_ID at an emulator and return a fresh hook for it."""

    def _connect(emulator: EmulatorServer) -> TencentOcrHook:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.connection_json())
        return TencentOcrHook(CONN_ID)

    return _connect


class TwoActions(SingaporeFormat):
    """Even rows are FAST (20/s), odd rows SLOW (4/s); image names starting with ``x`` name no action."""

    def __init__(self) -> None:
        self.sent: dict[str, list[float]] = {FAST: [], SLOW: []}
        self._lock = threading.Lock()

    def action_of(self, row: ManifestRow) -> str:
        if "/x" in (row.image_uri or ""):
            raise UnsupportedActionError("this row names no action the test serves")
        return FAST if row.index % 2 == 0 else SLOW

    def default_rate(self, action: str) -> float:
        return {FAST: 20.0, SLOW: 4.0}[action]

    def recognise(self, recogniser: Any, action: str, image: Mapping[str, str], *, return_head_image: bool) -> Any:
        with self._lock:
            self.sent[action].append(time.monotonic())
        return super().recognise(recogniser, action, image, return_head_image=return_head_image)


def images(folder, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{i:03d}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    return paths


def run(hook, paths, document, **options):
    sink = ListSink()
    runner = OcrRunner(hook, RunOptions(retry_max_wait=0.05, progress_interval=60.0, **options), document=document)
    summary = runner.run(manifest_from_images(paths, batch_rows=7), sink, output="memory")
    return summary, sink.rows, runner


def test_a_fast_action_never_waits_behind_a_slow_one_and_rows_stay_in_order(tmp_path, connect, caplog):
    paths = images(tmp_path / "img", 40)  # 20 fast, 20 slow, interleaved
    document = TwoActions()
    with EmulatorServer(rate_limit=1000) as emulator, caplog.at_level("INFO"):
        summary, rows, runner = run(connect(emulator), paths, document)
    # The task log says how each action's own pacing went.
    assert {m.split(":")[0] for m in caplog.messages if "pacing ceiling" in m} == {FAST, SLOW}
    assert any(m.startswith(f"{SLOW}: pacing ceiling 3.9 requests/s") for m in caplog.messages)
    assert [r["image_uri"] for r in rows] == paths and [r["record_id"] for r in rows] == [str(i) for i in range(40)]
    assert summary.ok == 40 and emulator.stats.billed == 40
    fast, slow = sorted(document.sent[FAST]), sorted(document.sent[SLOW])
    assert len(fast) == len(slow) == 20
    # The slow action's calls are spaced at its own limit: never more than 4 (+1 at a window edge) in a second.
    assert all(sum(1 for t in slow if s <= t < s + 1.0) <= 5 for s in slow)
    # The fast action is not held to the slow one's pace: all 20 of its calls (~1 s at 20/s) are sent
    # before the slow action's 10th call (>= 2.25 s at 4/s); in one shared lane they would interleave.
    assert fast[-1] < slow[9]
    assert set(runner.last_run.limits) == {FAST, SLOW}
    assert runner.last_run.limits[SLOW].pacing.max_rate == pytest.approx(4.0 * 0.97)


def test_a_number_or_a_mapping_overrides_the_documented_limits(tmp_path, connect):
    paths = images(tmp_path / "img", 4)
    with EmulatorServer(rate_limit=1000) as emulator:
        hook = connect(emulator)
        _, _, by_number = run(hook, paths, TwoActions(), max_requests_per_second=2.0)
        _, _, by_mapping = run(hook, paths, TwoActions(), max_requests_per_second={SLOW: 1.5})
    assert {a: lim.pacing.max_rate for a, lim in by_number.last_run.limits.items()} == pytest.approx(
        {FAST: 2.0 * 0.97, SLOW: 2.0 * 0.97}
    )
    assert {a: lim.pacing.max_rate for a, lim in by_mapping.last_run.limits.items()} == pytest.approx(
        {FAST: 20.0 * 0.97, SLOW: 1.5 * 0.97}  # FAST keeps its documented limit
    )


def test_a_row_without_a_served_action_is_an_error_row_and_costs_no_call(tmp_path, connect):
    paths = images(tmp_path / "img", 3)
    odd = tmp_path / "img" / "x_unknown.png"
    odd.write_bytes(make_png(6, 6, seed=99))
    manifest = [paths[0], str(odd), paths[1], paths[2]]
    with EmulatorServer(rate_limit=1000) as emulator:
        summary, rows, _ = run(connect(emulator), manifest, TwoActions())
    assert [r["image_uri"] for r in rows] == manifest
    assert [(r["status"], r["error_code"]) for r in rows] == [
        ("ok", None),
        ("error", "UnsupportedAction"),
        ("ok", None),
        ("ok", None),
    ]
    assert rows[1]["error_message"] == "this row names no action the test serves" and rows[1]["attempts"] == 0
    assert summary.errors_by_code == {"UnsupportedAction": 1} and emulator.stats.billed == 3


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "20", True, {FAST: 0}])
def test_a_bad_limit_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"max_requests_per_second.*positive number"):
        RunOptions(max_requests_per_second=bad)


def test_throttling_of_one_action_slows_only_that_action(tmp_path, connect):
    """The service's own per-action limits: Malaysia's is lower than the client's pace, Singapore's is not."""
    from airflow_provider_tencent_ocr.run.id_documents import IdDocumentFormat

    sg, my = "RecognizeSingaporeIDCardOCR", "MLIDCardOCR"
    paths = images(tmp_path / "img", 24)
    manifest = tmp_path / "m.csv"
    manifest.write_text("image_uri,kind\n" + "".join(f"{p},{sg if i % 2 else my}\n" for i, p in enumerate(paths)))
    from airflow_provider_tencent_ocr.io.manifest import open_manifest

    with EmulatorServer(rate_limit={sg: 1000, my: 2}) as emulator:  # the client paces Malaysia at 5/s
        sink = ListSink()
        runner = OcrRunner(
            connect(emulator),
            RunOptions(retry_max_wait=0.5, progress_interval=60.0),
            document=IdDocumentFormat(action_column="kind"),
        )
        summary = runner.run(open_manifest(str(manifest), carry_columns=["kind"]), sink, output="memory")
    assert summary.ok == 24 and [r["image_uri"] for r in sink.rows] == paths
    assert summary.retries["throttled"] > 0  # Malaysia's answers said so ...
    limits = runner.last_run.limits
    # Malaysia's pacing was lowered (by the end of a slow run it may have recovered to its ceiling, so the
    # count of decreases is what proves it, not the final rate) ...
    assert limits[my].pacing.decreases > 0
    assert limits[sg].pacing.decreases == 0 and limits[sg].pacing.rate == limits[sg].pacing.max_rate  # ... only it
