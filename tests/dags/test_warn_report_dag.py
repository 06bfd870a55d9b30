"""The Asset-scheduled consumer DAG: parses cleanly and fast, and its task writes the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "example_tencent_ocr_warn_report.py"
DAG_ID = "example_tencent_ocr_warn_report"


@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("TENCENT_OCR_DEMO_OUTPUT_DIR", str(tmp_path / "demo"))
    return tmp_path / "demo"


@pytest.fixture
def dag(demo_dir):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    return bag.dags[DAG_ID]


def _report_callable(dag):
    return dag.get_task("warn_report").python_callable


def _write_parquet(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "status": ["ok", "ok", "error"],
            "error_code": [None, None, "ImageNotFound"],
            "warn_edited": [True, False, None],
        }
    )
    pq.write_table(table, path)


def test_dagbag_imports_without_errors_and_fast(demo_dir):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    assert list(bag.dags) == [DAG_ID]
    assert [t.task_id for t in bag.dags[DAG_ID].tasks] == ["warn_report"]
    # Parse time of the file itself (Airflow's own imports are not counted); ~2 ms here.
    assert sum(stat.duration.total_seconds() for stat in bag.dagbag_stats) < 0.5


def test_scheduled_on_the_producer_asset(dag, demo_dir):
    uris = [asset.uri for asset in dag.timetable.asset_condition.objects]
    # Any producer: the single-file table, the sharded producer's dataset folder, the mixed-document table.
    assert uris == [
        f"file://{demo_dir}/singapore_id_cards.parquet",
        f"file://{demo_dir}/singapore_id_cards_sharded",
        f"file://{demo_dir}/id_documents.parquet",
    ]


def test_parse_does_not_import_heavy_libraries(tmp_path):
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]);"
        "print(','.join(m for m in ('pandas', 'duckdb', 'matplotlib', 'pyarrow') if m in sys.modules))"
    )
    env = {"AIRFLOW_HOME": str(tmp_path / "airflow"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(DAG_FILE)], capture_output=True, text=True, env=env, check=True
    )
    loaded = set(result.stdout.strip().splitlines()[-1].split(",")) if result.stdout.strip() else set()
    assert not loaded & {"duckdb", "matplotlib"}


def test_task_reads_the_parquet_named_by_the_triggering_event(dag, demo_dir, tmp_path):
    from airflow.sdk import Asset

    parquet = tmp_path / "elsewhere" / "cards.parquet"
    _write_parquet(parquet)
    asset = Asset(f"file://{demo_dir}/singapore_id_cards.parquet")
    event = SimpleNamespace(asset=SimpleNamespace(uri=asset.uri), extra={"parquet_uri": f"file://{parquet}"})
    report = _report_callable(dag)(triggering_asset_events={asset: [event]})
    assert (report["rows"], report["ok"], report["errors"]) == (3, 2, 1)
    assert report["source"] == f"file://{parquet}"
    for name in ("warn_report.json", "warn_report.md", "warn_rates.png"):
        assert (demo_dir / "report" / name).exists()


def test_task_uses_the_event_asset_uri(dag, demo_dir):
    from airflow.sdk import Asset

    _write_parquet(demo_dir / "singapore_id_cards.parquet")
    asset = Asset(f"file://{demo_dir}/singapore_id_cards.parquet")
    event = SimpleNamespace(asset=SimpleNamespace(uri=asset.uri), extra={})
    report = _report_callable(dag)(triggering_asset_events={asset: [event]})
    assert report["source"] == f"{demo_dir}/singapore_id_cards.parquet"
    assert report["warn_rates"][3]["count"] == 1  # -9104 warn_edited


def test_the_mixed_document_table_gets_its_own_report_by_action(dag, demo_dir):
    from airflow.sdk import Asset

    from airflow_provider_tencent_ocr.rows.id_document import output_schema

    schema = output_schema()
    rows = [
        {"status": "ok", "action": "MLIDCardOCR", "warn_blurry": True},
        {"status": "ok", "action": "MLIDPassportOCR", "warn_blurry": False},
        {"status": "error", "error_code": "UnsupportedAction", "action": "NoSuchOCR"},
    ]
    demo_dir.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema=schema)
    pq.write_table(table, demo_dir / "id_documents.parquet")
    asset = Asset(f"file://{demo_dir}/id_documents.parquet")
    event = SimpleNamespace(asset=SimpleNamespace(uri=asset.uri), extra={"uri": str(demo_dir / "id_documents.parquet")})
    report = _report_callable(dag)(triggering_asset_events={asset: [event]})
    assert [g["action"] for g in report["by_action"]] == ["MLIDCardOCR", "MLIDPassportOCR", "NoSuchOCR"]
    assert (demo_dir / "report" / "id_documents" / "warn_report.md").exists()
    assert not (demo_dir / "report" / "warn_report.md").exists()  # the Singapore report is left alone


def test_manual_run_falls_back_to_the_env_path(dag, demo_dir):
    _write_parquet(demo_dir / "singapore_id_cards.parquet")
    report = _report_callable(dag)(triggering_asset_events=None)
    assert report["source"] == f"{demo_dir}/singapore_id_cards.parquet"
    assert (report["rows"], report["errors"]) == (3, 1)


def test_task_with_airflows_own_event_accessor(dag, demo_dir, tmp_path):
    """The real ``triggering_asset_events`` mapping, with a producer asset of another name."""
    import datetime as dt

    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    versioned = tmp_path / "runs" / "run-1.parquet"
    _write_parquet(versioned)
    uri = f"file://{demo_dir}/singapore_id_cards.parquet"
    event = AssetEventDagRunReferenceResult(
        asset=AssetReferenceAssetEventDagRun(name="singapore_id_cards", uri=uri, extra={}),
        extra={"rows": 3, "parquet_uri": str(versioned)},
        source_task_id="ocr",
        source_dag_id="example_tencent_ocr_singapore_id_card",
        source_run_id="manual__1",
        source_map_index=-1,
        source_aliases=[],
        timestamp=dt.datetime.now(dt.UTC),
    )
    accessor = TriggeringAssetEventsAccessor.build([event])
    report = _report_callable(dag)(triggering_asset_events=accessor)
    assert report["source"] == str(versioned)  # found through the accessor, not the fallback
    assert report["rows"] == 3


@pytest.mark.parametrize("suffix", ["", "/", "/./"])
def test_consumer_asset_is_the_producers_output_asset(tmp_path, monkeypatch, suffix):
    operator = pytest.importorskip("airflow_provider_tencent_ocr.operators.singapore_id_card")
    from airflow.dag_processing.dagbag import DagBag

    demo = f"{tmp_path / 'demo'}{suffix}"
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("TENCENT_OCR_DEMO_OUTPUT_DIR", demo)
    dag = DagBag(dag_folder=str(DAG_FILE)).dags[DAG_ID]
    produced = operator.output_asset(f"{demo}/singapore_id_cards.parquet")
    sharded = operator.output_asset(f"{demo}/singapore_id_cards_sharded/")
    mixed = operator.output_asset(f"{demo}/id_documents.parquet")
    assert [asset.uri for asset in dag.timetable.asset_condition.objects] == [produced.uri, sharded.uri, mixed.uri]
