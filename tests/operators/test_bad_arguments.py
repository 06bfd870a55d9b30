"""Arguments that cannot work are refused when the DAG is parsed, naming the argument and what to give."""

from __future__ import annotations

import pytest

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from airflow_provider_tencent_ocr.run.options import RunOptions


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("timeout", -1),
        ("timeout", 0),
        ("timeout", float("nan")),
        ("progress_interval", 0),
        ("progress_interval", -5),
        ("retry_deadline", -1),
    ],
)
def test_durations_that_cannot_work_are_refused_at_parse_time(argument, value):
    with pytest.raises(ValueError, match=rf"{argument} must be a positive number of seconds") as raised:
        TencentOcrSingaporeIdCardOperator(
            task_id="ocr", images=["/a.png"], output="/out/cards.parquet", **{argument: value}
        )
    assert repr(value) in str(raised.value)


@pytest.mark.parametrize("argument", ["timeout", "progress_interval", "image_timeout", "image_deadline"])
def test_run_options_refuse_non_positive_durations(argument):
    with pytest.raises(ValueError, match=argument):
        RunOptions(**{argument: 0})


def test_a_tiny_progress_interval_cannot_flood_the_log():
    import logging
    import time

    from airflow_provider_tencent_ocr.run.progress import Progress, ProgressReporter
    from airflow_provider_tencent_ocr.run.retries import RetryStats

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tencent-ocr-test-progress-flood")
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    logger.propagate = False
    snapshot = lambda: Progress(1, 0, 0, 4, 20.0, 20.0)  # noqa: E731
    with ProgressReporter(5, snapshot, RetryStats(), interval=1e-9, logger=logger):
        time.sleep(0.5)
    assert len(records) <= 0.5 / 0.05 + 2


@pytest.mark.parametrize(
    "value", ["9" * 5000, "[" * 100_000 + "]" * 100_000], ids=["5000-digit number", "deeply nested"]
)
def test_an_unreadable_jsonl_value_fails_the_task_without_retry_naming_the_manifest(tmp_path, value):
    import collections
    import types

    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_tencent_ocr.io.manifest import ManifestError

    manifest = tmp_path / "cards.jsonl"
    manifest.write_text('{"image_uri": "/a.png", "note": ' + value + "}\n")
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", manifest=str(manifest), output=str(tmp_path / "out.parquet"), carry_columns=["note"]
    )
    with pytest.raises(AirflowFailException, match=r"ManifestError: manifest .*cards\.jsonl.* line 1") as raised:
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    assert isinstance(raised.value.__context__, ManifestError)


def test_asset_names_percent_encode_characters_that_are_not_path_characters():
    from airflow_provider_tencent_ocr.operators.base import output_asset

    first, second = output_asset("/x/run#1/cards.parquet"), output_asset("/x/run#2/cards.parquet")
    assert first.uri == "file:///x/run%231/cards.parquet" and second.uri == "file:///x/run%232/cards.parquet"
    assert first != second  # different outputs never trigger each other's consumers
    assert output_asset("/x/a?b/c d.parquet").uri == "file:///x/a%3Fb/c%20d.parquet"
    assert output_asset("s3://kyc/run#1/cards.parquet").uri == "s3://kyc/run%231/cards.parquet"
    assert output_asset("/x/café/{{ ds }}/c.parquet").uri == "file:///x/caf%C3%A9"
    assert output_asset("/x/plain/cards.parquet").uri == "file:///x/plain/cards.parquet"  # unchanged when clean
