"""End to end: the example producer DAG run by Airflow (``dag.test()``) against the emulator, then
the Asset-scheduled consumer DAG on its output; the Parquet checked with pyarrow, pandas and DuckDB.

One migrated Airflow database for the module (``airflow db migrate`` takes seconds), two DAG runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.actions.singapore_id_card import WARN_CODES
from airflow_provider_tencent_ocr.io.parquet import OUTPUT_COLUMNS, output_schema
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer

# Slow: airflow db migrate in a subprocess, then dag.test() of two DAGs.
pytestmark = pytest.mark.slow

DAGS = Path(__file__).resolve().parents[2] / "dags"
PRODUCER = "example_tencent_ocr_singapore_id_cards"
CONSUMER = "example_tencent_ocr_warn_report"

CARDS = [  # (fields, warn codes) for the images the fixture recogniser knows
    ({"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "Birthday": "01-02-1980"}, []),
    ({"EnName": "LIM MEI LING", "ID": "T0123456G", "Sex": "F", "Birthday": "12-11-2001"}, [-9101]),
    ({"EnName": "RAJ KUMAR", "ID": "S7654321A", "Sex": "M", "Birthday": "30-06-1975"}, [-9103, -9108]),
    ({"Address": "1 EXAMPLE ROAD #01-01", "PostCode": "123456", "DateOfIssue": "01-01-2020"}, [-9108]),
]


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """A migrated database, the dags folder, and the demo output folder, for the whole module."""
    demo = tmp_path_factory.mktemp("demo")
    saved = {k: os.environ.get(k) for k in ("TENCENT_OCR_DEMO_OUTPUT_DIR", "AIRFLOW__CORE__DAGS_FOLDER")}
    os.environ["TENCENT_OCR_DEMO_OUTPUT_DIR"] = str(demo)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
    # Airflow reads the dags folder once, when airflow.settings is imported (perhaps by an earlier module).
    from airflow import settings

    saved_folder, settings.DAGS_FOLDER = settings.DAGS_FOLDER, str(DAGS)
    airflow = Path(sys.executable).with_name("airflow")
    migrate = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, env=dict(os.environ))
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    yield demo
    settings.DAGS_FOLDER = saved_folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def emulator():
    recogniser = FixtureRecogniser()
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as server:
        yield server


@pytest.fixture(scope="module")
def producer_run(airflow_env, emulator):
    """Cards on disk, a manifest mixing good and bad rows, and one producer DAG run."""
    demo = airflow_env
    cards = demo / "cards"
    cards.mkdir()
    paths = []
    for seed, (fields, warn) in enumerate(CARDS):
        data = make_png(6, 6, seed=seed)
        emulator.recogniser.add(data, fields, warn)
        path = cards / f"card_{seed}.png"
        path.write_bytes(data)
        paths.append(str(path))
    failing = make_png(6, 6, seed=50)
    digest = emulator.recogniser.add(failing, {})
    emulator.recogniser.table[digest] = {"Error": {"Code": "FailedOperation.OcrFailed", "Message": "OCR failed."}}
    (cards / "failing.png").write_bytes(failing)
    manifest = [
        ("r0", paths[0], "front"),
        ("r1", paths[1], "front"),
        ("r2", paths[2], "front"),
        ("r3", paths[3], "back"),
        ("r4", paths[1], "front"),  # the same image again: served without a second call
        ("r5", str(cards / "missing.png"), "front"),
        ("r6", "", "front"),
        ("r7", str(cards / "failing.png"), "back"),
        ("r8", paths[2], "front"),
    ]
    (cards / "manifest.csv").write_text(
        "record_id,image_uri,side\n" + "".join(f"{r},{u},{s}\n" for r, u, s in manifest)
    )

    os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
    try:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(str(DAGS))
        assert bag.import_errors == {}
        run = bag.get_dag(PRODUCER).test()
    finally:
        os.environ.pop("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", None)
    return {"run": run, "manifest": manifest, "parquet": demo / "singapore_id_cards.parquet", "bag": bag}


def test_producer_dag_writes_the_contract(producer_run, emulator):
    assert str(producer_run["run"].state) == "success"
    path = producer_run["parquet"]
    manifest = producer_run["manifest"]

    table = pq.read_table(path)
    expected = output_schema([pa.field("side", pa.string())])
    assert table.column_names == [*OUTPUT_COLUMNS, "side"]
    for actual, wanted in zip(table.schema, expected, strict=True):
        assert (actual.name, actual.type) == (wanted.name, wanted.type)
    metadata = table.schema.metadata or {}
    assert metadata[b"tencent_ocr.action"] == b"RecognizeSingaporeIDCardOCR"
    assert b"tencent_ocr.schema_version" in metadata and b"tencent_ocr.package_version" in metadata

    rows = table.to_pylist()
    assert [(r["record_id"], r["image_uri"], r["side"]) for r in rows] == manifest
    status = {r["record_id"]: (r["status"], r["error_code"]) for r in rows}
    assert status == {
        "r0": ("ok", None),
        "r1": ("ok", None),
        "r2": ("ok", None),
        "r3": ("ok", None),
        "r4": ("ok", None),
        "r5": ("error", "ImageNotFound"),
        "r6": ("error", "InvalidManifestRow"),
        "r7": ("error", "FailedOperation.OcrFailed"),
        "r8": ("ok", None),
    }
    by_id = {r["record_id"]: r for r in rows}
    assert by_id["r0"]["id_number"] == "S1234567D" and by_id["r0"]["id_checksum_valid"] is True
    assert by_id["r4"]["en_name"] == by_id["r1"]["en_name"] == "LIM MEI LING"
    assert by_id["r2"]["warn_codes"] == [-9103, -9108] and by_id["r2"]["warn_photographed"] is True
    assert by_id["r3"]["address"] == "1 EXAMPLE ROAD #01-01"
    assert by_id["r5"]["warn_covered"] is None  # null on error rows
    # 4 distinct recognisable images plus the failing one: one call each.
    assert emulator.stats.billed == 4 and set(emulator.stats.images.values()) == {1}

    frame = pd.read_parquet(path)
    assert list(frame.columns) == [*OUTPUT_COLUMNS, "side"]
    assert frame["record_id"].tolist() == [m[0] for m in manifest]
    assert frame["status"].value_counts().to_dict() == {"ok": 6, "error": 3}

    con = duckdb.connect()
    described = con.execute("SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(path)]).fetchall()
    assert [c for (c,) in described] == [*OUTPUT_COLUMNS, "side"]
    counts = con.execute(
        "SELECT error_code, count(*) FROM read_parquet(?) WHERE status = 'error' GROUP BY 1 ORDER BY 1", [str(path)]
    ).fetchall()
    assert counts == [("FailedOperation.OcrFailed", 1), ("ImageNotFound", 1), ("InvalidManifestRow", 1)]


def test_producer_xcom_summary(producer_run):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    run = producer_run["run"]
    with create_session() as session:
        query = XComModel.get_many(
            run_id=run.run_id, dag_ids=PRODUCER, task_ids="recognise_id_cards", key="return_value"
        )
        summary = XComModel.deserialize_value(session.scalars(query).one())
    assert summary["rows"] == 9 and summary["ok"] == 6 and summary["errors"] == 3
    assert summary["errors_by_code"] == {"FailedOperation.OcrFailed": 1, "ImageNotFound": 1, "InvalidManifestRow": 1}
    assert summary["warnings_by_code"] == {"-9101": 2, "-9103": 2, "-9108": 3}
    assert summary["api_calls"] == 5
    assert summary["output"] == str(producer_run["parquet"])


def test_consumer_dag_report_matches_the_parquet(producer_run):
    demo = producer_run["parquet"].parent
    run = producer_run["bag"].get_dag(CONSUMER).test()
    assert str(run.state) == "success"
    report = json.loads((demo / "report" / "warn_report.json").read_text())
    assert (demo / "report" / "warn_report.md").stat().st_size > 0
    assert (demo / "report" / "warn_rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    rows = pq.read_table(producer_run["parquet"]).to_pylist()
    ok = [r for r in rows if r["status"] == "ok"]
    assert report["rows"] == len(rows) == 9
    assert report["ok"] == len(ok) and report["errors"] == len(rows) - len(ok)
    errors = Counter(r["error_code"] for r in rows if r["status"] == "error")
    assert {e["error_code"]: e["count"] for e in report["errors_by_code"]} == dict(errors)
    rates = {w["column"]: (w["count"], w["rate"]) for w in report["warn_rates"]}
    for column in WARN_CODES.values():
        n = sum(1 for r in ok if r[column])
        assert rates[column] == (n, pytest.approx(n / len(ok))), column
    assert rates["warn_blurry"][0] == 3 and rates["warn_covered"][0] == 2


def test_producer_runs_on_your_own_images_from_the_trigger_params(airflow_env, emulator, tmp_path):
    """The Trigger dialog's parameters: another manifest (no id, nothing carried), output and cache."""
    own = tmp_path / "mine"
    own.mkdir()
    images = []
    for seed in (70, 71):
        data = make_png(6, 6, seed=seed)
        emulator.recogniser.add(data, CARDS[0][0], [])
        (own / f"{seed}.png").write_bytes(data)
        images.append(str(own / f"{seed}.png"))
    (own / "list.jsonl").write_text("".join(json.dumps({"image_uri": uri}) + "\n" for uri in images))
    conf = {
        "manifest": str(own / "list.jsonl"),
        "output": str(own / "result.parquet"),
        "cache": str(own / "cache"),
        "id_column": None,
        "carry_columns": [],
    }
    os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
    try:
        from airflow.dag_processing.dagbag import DagBag

        run = DagBag(str(DAGS)).get_dag(PRODUCER).test(run_conf=conf)
    finally:
        os.environ.pop("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", None)
    assert str(run.state) == "success"
    rows = pq.read_table(own / "result.parquet").to_pylist()
    assert [r["record_id"] for r in rows] == ["0", "1"] and all(r["status"] == "ok" for r in rows)
    assert (own / "cache").is_dir()


def test_the_mixed_document_dag_writes_one_table_in_manifest_order(airflow_env, emulator):
    """``example_tencent_ocr_id_documents`` by Airflow: a mixed manifest, an unknown action, masked output."""
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_tencent_ocr.rows.id_document import OUTPUT_COLUMNS as ID_COLUMNS

    documents = airflow_env / "documents"
    documents.mkdir()
    actions = ["RecognizeSingaporeIDCardOCR", "MLIDCardOCR", "NoSuchOCR", "MLIDPassportOCR", "MLIDCardOCR"]
    lines = ["record_id,image_uri,action,side"]
    for i, action in enumerate(actions):  # images the fixture table does not know: synthetic cards of the action
        (documents / f"doc_{i}.png").write_bytes(make_png(6, 6, seed=100 + i))
        lines.append(f"d{i},{documents / f'doc_{i}.png'},{action},front")
    (documents / "manifest.csv").write_text("\n".join(lines) + "\n")
    os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
    try:
        bag = DagBag(str(DAGS))
        run = bag.get_dag("example_tencent_ocr_id_documents").test()
    finally:
        os.environ.pop("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", None)
    assert str(run.state).endswith("success")
    table = pq.read_table(airflow_env / "id_documents.parquet")
    assert table.column_names == [*ID_COLUMNS, "side"]
    rows = table.to_pylist()
    assert [r["record_id"] for r in rows] == [f"d{i}" for i in range(len(actions))]
    assert [r["action"] for r in rows] == actions
    assert [r["error_code"] for r in rows] == [None, None, "UnsupportedAction", None, None]
    assert all(r["document_number"] and "*" in r["document_number"] for r in rows if r["status"] == "ok")  # pii="mask"
