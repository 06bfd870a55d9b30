"""The warn report's numbers equal what pandas computes from the same Parquet."""

from __future__ import annotations

import json
import random

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_tencent_ocr.actions.singapore_id_card import WARN_CODES
from airflow_provider_tencent_ocr.report import build_warn_report, format_summary

WARN_COLUMNS = list(WARN_CODES.values())
SECRET_ID = "S1234567D"


def _table(n: int = 240, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        error = rng.random() < 0.15
        row = {
            "record_id": str(i),
            "image_uri": f"img/{i}.jpg",
            "status": "error" if error else "ok",
            "error_code": rng.choice(["FailedOperation.OcrFailed", "ImageNotFound", None]) if error else None,
            "id_number": None if error else SECRET_ID,
            "en_name": None if error else "TAN AH KOW",
            "id_type": None if error else rng.choice(["NRIC", "FIN", None]),
            "id_checksum_valid": None if error else rng.choice([True, False, None]),
        }
        for k, column in enumerate(WARN_COLUMNS):
            row[column] = None if error else rng.random() < 0.05 * (k + 1)
        rows.append(row)
    schema = pa.schema(
        [
            ("record_id", pa.string()),
            ("image_uri", pa.string()),
            ("status", pa.string()),
            ("error_code", pa.string()),
            ("id_number", pa.string()),
            ("en_name", pa.string()),
            *[(c, pa.bool_()) for c in WARN_COLUMNS],
            ("id_type", pa.string()),
            ("id_checksum_valid", pa.bool_()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "singapore_id_cards.parquet"
    pq.write_table(_table(), path)
    return path


def test_numbers_match_pandas(parquet, tmp_path):
    out = tmp_path / "report"
    report = build_warn_report(str(parquet), out)
    df = pd.read_parquet(parquet)
    ok = df[df.status == "ok"]
    errors = df[df.status == "error"]

    assert report["rows"] == len(df)
    assert report["ok"] == len(ok)
    assert report["errors"] == len(errors)
    assert report["error_rate"] == len(errors) / len(df)

    expected_codes = errors.error_code.fillna("(none)").value_counts()
    got_codes = {e["error_code"]: e for e in report["errors_by_code"]}
    assert set(got_codes) == set(expected_codes.index)
    for code, count in expected_codes.items():
        assert got_codes[code]["count"] == count
        assert got_codes[code]["rate"] == count / len(df)

    assert [w["code"] for w in report["warn_rates"]] == list(WARN_CODES)
    for w in report["warn_rates"]:
        count = int(ok[w["column"]].fillna(False).astype(bool).sum())
        assert w["count"] == count
        assert w["rate"] == count / len(ok)
        assert w["meaning"]

    card = [c for c in WARN_COLUMNS if c != "warn_not_enabled"]
    any_card = int(ok[card].fillna(False).astype(bool).any(axis=1).sum())
    assert report["ok_with_card_warning"]["count"] == any_card

    check = ok.id_checksum_valid
    assert report["id_checksum"]["valid"] == int((check == True).sum())  # noqa: E712
    assert report["id_checksum"]["invalid"] == int((check == False).sum())  # noqa: E712
    assert report["id_checksum"]["unknown"] == int(check.isna().sum())

    by_type = {g["id_type"]: g for g in report["by_id_type"]}
    kinds = df.id_type.fillna("unknown")
    assert set(by_type) == set(kinds.unique())
    for kind, group in df.groupby(kinds):
        got = by_type[kind]
        group_ok = group[group.status == "ok"]
        assert got["rows"] == len(group)
        assert got["ok"] == len(group_ok)
        assert got["errors"] == int((group.status == "error").sum())
        for column in WARN_COLUMNS:
            expected = group_ok[column].fillna(False).astype(bool).sum() / len(group_ok) if len(group_ok) else None
            assert got["warn_rates"][column] == expected


def test_files_are_written_and_free_of_personal_data(parquet, tmp_path):
    out = tmp_path / "nested" / "report"
    report = build_warn_report(f"file://{parquet}", out)
    assert (out / "warn_rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    on_disk = json.loads((out / "warn_report.json").read_text())
    assert on_disk == json.loads(json.dumps(report))
    markdown = (out / "warn_report.md").read_text()
    assert "| rows | ok | errors | error rate |" in markdown
    assert "-9104" in markdown and "edited card (PS)" in markdown
    for text in (json.dumps(report), markdown, format_summary(report)):
        assert SECRET_ID not in text
        assert "TAN AH KOW" not in text
    assert len(json.dumps(report)) < 8000  # small enough for XCom
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_format_summary(parquet, tmp_path):
    report = build_warn_report(str(parquet), tmp_path / "r")
    summary = format_summary(report)
    assert summary.splitlines()[0].startswith(f"rows {report['rows']}  ok {report['ok']}")
    for code in WARN_CODES:
        assert str(code) in summary


def test_minimal_schema_and_no_ok_rows(tmp_path):
    table = pa.table({"status": pa.array(["error", "error"]), "error_code": pa.array(["ImageNotFound", None])})
    path = tmp_path / "min.parquet"
    pq.write_table(table, path)
    report = build_warn_report(str(path), tmp_path / "r")
    assert (report["rows"], report["ok"], report["errors"]) == (2, 0, 2)
    assert report["error_rate"] == 1.0
    assert all(w["rate"] is None and w["count"] is None for w in report["warn_rates"])
    assert "by_id_type" not in report
    assert (tmp_path / "r" / "warn_rates.png").exists()
    assert "n/a" in format_summary(report)


def test_empty_table(tmp_path):
    path = tmp_path / "empty.parquet"
    schema = pa.schema([("status", pa.string()), ("error_code", pa.string())] + [(c, pa.bool_()) for c in WARN_COLUMNS])
    pq.write_table(schema.empty_table(), path)
    report = build_warn_report(str(path), tmp_path / "r")
    assert report["rows"] == 0 and report["error_rate"] is None
    assert all(w["count"] == 0 and w["rate"] is None for w in report["warn_rates"])


def test_remote_uri_through_fsspec(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    with fs.open("/ocr-bucket/cards.parquet", "wb") as handle:
        pq.write_table(_table(n=20), handle)
    try:
        report = build_warn_report("memory://ocr-bucket/cards.parquet", tmp_path / "r")
    finally:
        fs.rm("/ocr-bucket/cards.parquet")
    assert report["rows"] == 20
    assert report["ok"] + report["errors"] == 20


def test_an_id_document_table_breaks_down_by_action(tmp_path):
    from airflow_provider_tencent_ocr.rows.id_document import output_schema

    warn = dict.fromkeys(WARN_CODES.values(), False)
    rows = [
        {"status": "ok", "action": "MLIDCardOCR", "number_valid": True, **warn, "warn_blurry": True},
        {"status": "ok", "action": "MLIDCardOCR", "number_valid": False, **warn},
        {"status": "ok", "action": "RecognizeSingaporeIDCardOCR", "number_valid": True, **warn},
        {"status": "error", "error_code": "UnsupportedAction", "action": "NoSuchOCR"},
        {"status": "error", "error_code": "UnsupportedAction", "action": None},
    ]
    schema = output_schema()
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    pq.write_table(table, tmp_path / "documents.parquet")
    report = build_warn_report(str(tmp_path / "documents.parquet"), tmp_path / "report")
    by_action = {group["action"]: group for group in report["by_action"]}
    assert set(by_action) == {"MLIDCardOCR", "RecognizeSingaporeIDCardOCR", "NoSuchOCR", "unknown"}
    malaysia = by_action["MLIDCardOCR"]
    assert (malaysia["rows"], malaysia["ok"], malaysia["errors"], malaysia["number_invalid"]) == (2, 2, 0, 1)
    assert malaysia["warn_rates"]["warn_blurry"] == 0.5
    assert by_action["RecognizeSingaporeIDCardOCR"]["warn_rates"]["warn_blurry"] == 0.0
    assert by_action["NoSuchOCR"]["errors"] == by_action["unknown"]["errors"] == 1
    markdown = (tmp_path / "report" / "warn_report.md").read_text()
    assert "## By action" in markdown and "| MLIDCardOCR | 2 | 2 | 0 | 0.0% |" in markdown
    assert "MLIDCardOCR" in format_summary(report)
    # No personal-data column is read for the report.
    assert "document_number" not in json.dumps(report) and "full_name" not in json.dumps(report)
