"""What the task log and the errors say: once, in plain words, without contradictions."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError
from airflow_provider_tencent_ocr.run.progress import Progress, ProgressReporter
from airflow_provider_tencent_ocr.run.retries import RetryStats
from airflow_provider_tencent_ocr.run.runner import fatal_stop

DAGS = Path(__file__).resolve().parents[2] / "dags"


def test_a_fatal_stop_reads_well_with_or_without_a_cache():
    error = TencentCloudAPIError("AuthFailure.SignatureFailure", "The provided credentials do not match.")
    with_cache = str(fatal_stop(error, 12, "/data/cache"))
    assert ".." not in with_cache
    assert "recognitions were obtained" not in with_cache
    assert "The 12 results paid for before the stop are saved in the cache /data/cache" in with_cache
    assert "does not pay for them again" in with_cache
    nothing = str(fatal_stop(error, 0, "/data/cache"))
    assert "Nothing was paid for before the stop." in nothing and "saved in the cache" not in nothing
    no_cache = str(fatal_stop(error, 3, None))
    assert "without a cache, a rerun pays for them again" in no_cache


def test_the_progress_line_tells_rows_done_from_the_send_rate_cap(caplog):
    logger = logging.getLogger("tencent-ocr-test-progress-line")
    reporter = ProgressReporter(
        50, lambda: Progress(11, 1, 2, 16, 19.4, 20.0), RetryStats(), interval=60, logger=logger
    )
    with caplog.at_level(logging.INFO, logger=logger.name):
        reporter.log_progress(0, 10.0)
    line = caplog.records[-1].getMessage()
    assert "11/50 rows done (10 ok, 1 errors), 1.1 rows/s finished over the last 10 s" in line
    assert "send-rate cap 19.4 requests/s (ceiling 20.0, lowered only by throttling; not the rate achieved)" in line
    assert "pacing 19.4" not in line


def test_dag_docs_name_dags_that_exist():
    dag_ids = set()
    for path in DAGS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "dag_id" and isinstance(node.value, ast.Constant):
                dag_ids.add(node.value.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"DAG", "dag"} and node.args:
                if isinstance(node.args[0], ast.Constant):
                    dag_ids.add(node.args[0].value)
    assert "example_tencent_ocr_singapore_id_cards" in dag_ids
    docs = (DAGS / "example_tencent_ocr_warn_report.py").read_text()
    named = {word.strip("`.,()") for word in docs.split() if word.strip("`.,()").startswith("example_tencent_ocr_")}
    assert named and named <= dag_ids | {"example_tencent_ocr_warn_report"}, named - dag_ids
