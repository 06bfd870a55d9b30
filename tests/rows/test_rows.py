"""The typed output row: one owner for the columns, their Arrow types, order, error rows and PII."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pyarrow.parquet as pq
from helpers import make_png

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.io.parquet import OUTPUT_COLUMNS, ParquetOutputWriter, output_schema
from airflow_provider_tencent_ocr.rows.pii import PiiProtector, column_kinds
from airflow_provider_tencent_ocr.rows.validation import id_checksum_valid, normalise_sex, parse_card_date
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions
from tencent_ocr_emulator.server import EmulatorServer

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
RESULT = sg.SingaporeIdCardResult(
    ch_name="陈亚九",
    en_name="TAN AH KOW",
    sex="M",
    birthday="01-02-1980",
    id_number="S1234567D",
    date_of_issue="15 MAR 2019",
    photo=b"\x89PNG",
    warn_codes=(-9101, -9108),
    request_id="req-1",
)


def ok_row() -> sg.SingaporeIdCardRow:
    return sg.SingaporeIdCardRow.build(
        record_id="7",
        image_uri="/cards/7.png",
        image_sha256="ab" * 32,
        result=RESULT,
        request_id="req-1",
        attempts=2,
        ocr_at=NOW,
    )


def test_the_row_owns_the_columns_and_their_order():
    assert OUTPUT_COLUMNS == list(sg.OUTPUT_COLUMNS) == [f.name for f in dataclasses.fields(sg.SingaporeIdCardRow)]
    assert output_schema().names == OUTPUT_COLUMNS
    # Raw response fields and warn flags appear in the action's own order.
    raw = [c for c in OUTPUT_COLUMNS if c in sg.RESPONSE_FIELDS.values()]
    assert raw == list(sg.RESPONSE_FIELDS.values())
    flags = [c for c in OUTPUT_COLUMNS if c.startswith("warn_") and c != "warn_codes"]
    assert flags == list(sg.WARN_CODES.values())
    assert sg.PII_COLUMNS == tuple(column_kinds(sg.SingaporeIdCardRow))
    assert sg.KEPT_ON_ERROR == {"record_id", "image_uri", "image_sha256", "request_id", "attempts", "ocr_at"}


def test_an_ok_row_carries_typed_columns_computed_from_the_raw_strings():
    row = ok_row()
    assert row.status == "ok" and row.error_code is None
    assert row.birth_date == dt.date(1980, 2, 1) == parse_card_date(row.birthday)
    assert row.date_of_issue_date == dt.date(2019, 3, 15)
    assert row.date_of_expiration_date is None  # not on the card side read
    assert (row.sex_normalised, row.id_type, row.id_checksum_valid) == ("M", "NRIC", True)
    assert (row.warn_covered, row.warn_blurry, row.warn_edited) == (True, True, False)
    out = row.to_dict()
    assert list(out) == OUTPUT_COLUMNS
    assert out["warn_codes"] == [-9101, -9108] and out["photo"] == b"\x89PNG"
    assert row["id_number"] == "S1234567D"


def test_an_error_row_keeps_its_identity_and_nothing_else():
    failed = ok_row().as_error("PostProcessingFailed", "OSError while storing the result")
    kept = {c: failed[c] for c in OUTPUT_COLUMNS if failed[c] not in (None, 0)}
    assert kept == {
        "record_id": "7",
        "image_uri": "/cards/7.png",
        "image_sha256": "ab" * 32,
        "status": "error",
        "error_code": "PostProcessingFailed",
        "error_message": "OSError while storing the result",
        "request_id": "req-1",
        "attempts": 2,
        "ocr_at": NOW,
    }
    plain = sg.SingaporeIdCardRow.build(record_id="1", image_uri="x", error_code="ImageNotFound", error_message="m")
    assert plain.status == "error" and plain.warn_codes is None and plain.birth_date is None


def test_personal_data_stays_out_of_repr_and_the_pii_step_keeps_the_type():
    row = ok_row()
    text = repr(row) + str(row)
    assert not any(value in text for value in ("S1234567D", "TAN AH KOW", "陈亚九", "/cards/7.png"))
    masked = PiiProtector("mask").apply(row)
    assert isinstance(masked, sg.SingaporeIdCardRow)
    assert (masked.id_number, masked.en_name) == ("S*****", "T*****")
    assert masked.birth_date == dt.date(1980, 1, 1) and masked.photo is None
    assert masked.id_checksum_valid is True  # computed from the clear value before masking


def test_driving_the_runner_directly_writes_the_typed_columns(tmp_path, monkeypatch):
    """No row transform (as a benchmark or a user script drives it): typed columns are still there."""
    paths = []
    for i in range(4):
        path = tmp_path / f"card_{i}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    out = tmp_path / "out.parquet"
    with EmulatorServer(rate_limit=1000) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_ROWS_TEST", emulator.connection_json())
        runner = OcrRunner(TencentOcrHook("rows_test"), RunOptions(progress_interval=60))
        with ParquetOutputWriter(str(out), output_schema()) as writer:
            summary = runner.run(manifest_from_images(paths), writer)
    rows = pq.read_table(out).to_pylist()
    assert summary.ok == 4 and [r["status"] for r in rows] == ["ok"] * 4
    for r in rows:
        assert r["birth_date"] == parse_card_date(r["birthday"]) and r["birth_date"] is not None
        assert r["sex_normalised"] == normalise_sex(r["sex"]) in ("M", "F")
        assert r["id_type"] in ("NRIC", "FIN") and r["id_checksum_valid"] is id_checksum_valid(r["id_number"]) is True
    json.dumps(summary.to_dict())
