"""connect_timeout, image_timeout and image_deadline are operator arguments that reach the hook and the downloads."""

from __future__ import annotations

import collections
import time
import types

import pyarrow.parquet as pq
from hostile_http import trickling_image_server

from airflow_provider_tencent_ocr.operators.assembly import assemble_run
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator


def test_connect_timeout_reaches_the_hook(tmp_path, tencent_ocr_conn_id):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=["/a.png"], output=str(tmp_path / "o.parquet"), timeout=20, connect_timeout=1.5
    )
    run = assemble_run(op)
    assert run.hook.config.connect_timeout == 1.5 and run.hook.config.timeout == 20
    assert (run.runner.options.image_timeout, run.runner.options.image_deadline) == (30.0, 60.0)  # documented defaults


def test_image_deadline_cuts_a_trickling_image_server(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id):
    out = tmp_path / "o.parquet"
    with trickling_image_server() as url:
        op = TencentOcrSingaporeIdCardOperator(
            task_id="ocr",
            images=[url],
            output=str(out),
            image_timeout=1.0,
            image_deadline=1.5,
            max_attempts=1,
            progress_interval=60.0,
        )
        started = time.monotonic()
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        elapsed = time.monotonic() - started
    [row] = pq.read_table(out).to_pylist()
    assert row["error_code"] == "ImageDownloadFailed" and "longer than 1.5 s" in row["error_message"]
    assert elapsed < 1.5 + 5  # not the trickle's 100,000 half-seconds
    assert tencent_ocr_emulator.stats.requests == 0
