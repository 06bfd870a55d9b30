"""The Singapore operator's output schema is a contract: every column, its type and order, and the file metadata."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
from helpers import execute, image_file, operator, write_manifest

from airflow_provider_tencent_ocr.actions.singapore_id_card import (
    OUTPUT_COLUMNS,
    SingaporeIdCardResult,
    SingaporeIdCardRow,
)
from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema

# Pinned by hand: change this list only with a schema version bump and a CHANGELOG entry.
SINGAPORE_COLUMNS = [
    ("record_id", "string"),
    ("image_uri", "string"),
    ("image_sha256", "string"),
    ("status", "string"),
    ("error_code", "string"),
    ("error_message", "string"),
    ("request_id", "string"),
    ("attempts", "int32"),
    ("ch_name", "string"),
    ("en_name", "string"),
    ("sex", "string"),
    ("country_of_birth", "string"),
    ("birthday", "string"),
    ("address", "string"),
    ("id_number", "string"),
    ("race", "string"),
    ("nric_code", "string"),
    ("post_code", "string"),
    ("date_of_expiration", "string"),
    ("date_of_issue", "string"),
    ("photo", "binary"),
    ("warn_codes", "list<element: int32>"),  # as Parquet stores a list
    ("warn_covered", "bool"),
    ("warn_photocopy", "bool"),
    ("warn_photographed", "bool"),
    ("warn_edited", "bool"),
    ("warn_reflective", "bool"),
    ("warn_blurry", "bool"),
    ("warn_not_enabled", "bool"),
    ("ocr_at", "timestamp[us, tz=UTC]"),
    ("birth_date", "date32[day]"),
    ("date_of_issue_date", "date32[day]"),
    ("date_of_expiration_date", "date32[day]"),
    ("sex_normalised", "string"),
    ("id_type", "string"),
    ("id_checksum_valid", "bool"),
    ("photo_path", "string"),
]
SINGAPORE_METADATA_KEYS = {"tencent_ocr.schema_version", "tencent_ocr.action", "tencent_ocr.package_version"}


def test_row_columns_are_unchanged() -> None:
    assert list(OUTPUT_COLUMNS) == [name for name, _ in SINGAPORE_COLUMNS]
    in_memory = [(f.name, str(f.type).replace("list<item:", "list<element:")) for f in output_schema()]
    assert in_memory == SINGAPORE_COLUMNS


def test_written_file_schema_and_metadata_are_unchanged(tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    result = SingaporeIdCardResult(id_number="S1234567D", birthday="12/04/1988", warn_codes=(-9108,), request_id="r")
    row = SingaporeIdCardRow.build(
        record_id="1", image_uri="a.png", result=result, ocr_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    with ParquetOutputWriter(str(target), output_schema()) as writer:
        writer.write_rows([row.to_dict()])
    schema = pq.read_schema(target)
    assert [(f.name, str(f.type)) for f in schema] == SINGAPORE_COLUMNS
    metadata = {key.decode(): value.decode() for key, value in (schema.metadata or {}).items()}
    assert set(metadata) == SINGAPORE_METADATA_KEYS
    assert metadata["tencent_ocr.action"] == "RecognizeSingaporeIDCardOCR"
    assert metadata["tencent_ocr.schema_version"] == "1"
    table = pq.read_table(target)
    assert table.column("id_checksum_valid").to_pylist() == [True]
    assert table.column("birth_date").to_pylist() == [dt.date(1988, 4, 12)]


def test_the_operators_file_is_unchanged(tmp_path: Path, tencent_ocr_conn_id: str) -> None:
    """The operator end to end (signed calls to the emulator): the file it writes has the pinned schema."""
    manifest = write_manifest(
        tmp_path / "m.csv",
        [("ok", image_file(tmp_path / "img", 1)), ("missing", str(tmp_path / "nope.png"))],
        header="record_id,image_uri",
    )
    op = operator(tmp_path, manifest=manifest, id_column="record_id", max_error_rate=1.0)
    execute(op)
    schema = pq.read_schema(op.output_uri)
    assert [(f.name, str(f.type)) for f in schema] == SINGAPORE_COLUMNS
    metadata = {key.decode() for key in (schema.metadata or {})}
    assert metadata == SINGAPORE_METADATA_KEYS
    assert [row["status"] for row in pq.read_table(op.output_uri).to_pylist()] == ["ok", "error"]
