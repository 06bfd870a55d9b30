"""IdDocumentRow: one row for any action, its typed columns, error rows, personal-data kinds and versioned schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from document_responses import RESPONSES

from airflow_provider_tencent_ocr.actions.registry import ACTIONS, UnsupportedActionError, require_action
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter
from airflow_provider_tencent_ocr.rows.id_document import (
    ID_DOCUMENT_SCHEMA_VERSION,
    KEPT_ON_ERROR,
    OUTPUT_COLUMNS,
    PII_COLUMNS,
    IdDocumentRow,
    output_schema,
)
from airflow_provider_tencent_ocr.rows.pii import FIELD_MAP, PiiProtector, column_kinds, known_kind

OCR_AT = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)

ID_DOCUMENT_COLUMNS = [
    ("record_id", "string"),
    ("image_uri", "string"),
    ("image_sha256", "string"),
    ("status", "string"),
    ("error_code", "string"),
    ("error_message", "string"),
    ("request_id", "string"),
    ("attempts", "int32"),
    ("action", "string"),
    ("document_number", "string"),
    ("full_name", "string"),
    ("birth_date", "date32[day]"),
    ("sex", "string"),
    ("address", "string"),
    ("nationality", "string"),
    ("expiry_date", "date32[day]"),
    ("number_valid", "bool"),
    ("number_consistent", "bool"),
    ("fields", "map<string, string ('fields')>"),  # as Parquet stores a map
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
    ("photo_path", "string"),
]


def row_of(action: str, **kwargs: object) -> IdDocumentRow:
    result = DocumentResult.from_response(require_action(action), RESPONSES[action])
    return IdDocumentRow.build(record_id="r1", image_uri="a.png", result=result, ocr_at=OCR_AT, **kwargs)  # type: ignore[arg-type]


def test_ok_row_computes_common_columns_and_validators() -> None:
    row = row_of("MLIDCardOCR", attempts=1, request_id="req")
    assert (row.status, row.action, row.attempts) == ("ok", "MLIDCardOCR", 1)
    assert (row.document_number, row.birth_date, row.sex, row.nationality) == (
        "880412-14-5678",
        dt.date(1988, 4, 12),
        "F",
        "MYS",
    )
    assert (row.number_valid, row.number_consistent) == (True, True)
    assert row.fields is not None and row.fields["Type"] == "MyKad" and "Image" not in row.fields
    assert row.photo and row.warn_codes == ()
    assert row.warn_covered is False
    assert "880412" not in repr(row) and "AISYAH" not in str(row)


def test_warn_columns() -> None:
    row = row_of("RecognizeSingaporeIDCardOCR")
    assert row.warn_codes == (-9103,) and row.warn_photographed is True and row.warn_blurry is False
    umid = row_of("RecognizePhilippinesUMIDOCR")
    assert umid.warn_codes == () and umid.warn_photographed is None  # the action has no warn codes


def test_error_row_keeps_identity_and_the_action_asked_for() -> None:
    row = IdDocumentRow.build(
        record_id="r2", image_uri="b.png", action="NoSuchOCR", error_code="UnsupportedAction", error_message="m"
    )
    assert (row.status, row.action, row.error_code, row.fields, row.warn_covered) == (
        "error",
        "NoSuchOCR",
        "UnsupportedAction",
        None,
        None,
    )
    failed = row_of("HKIDCardOCR", attempts=2).as_error("PhotoWriteFailed", "could not write")
    assert failed.status == "error" and failed.action == "HKIDCardOCR" and failed.attempts == 2
    assert failed.document_number is None and failed.fields is None and failed.photo is None
    assert KEPT_ON_ERROR == {"record_id", "image_uri", "image_sha256", "request_id", "attempts", "action", "ocr_at"}


def test_result_of_an_unknown_action_is_refused() -> None:
    with pytest.raises(UnsupportedActionError):
        IdDocumentRow.build(record_id="r", image_uri="u", result=DocumentResult(action="Nope", fields={"a": "b"}))


def test_personal_data_kinds() -> None:
    assert column_kinds(IdDocumentRow) == PII_COLUMNS
    assert PII_COLUMNS == {
        "document_number": "identifier",
        "full_name": "name",
        "birth_date": "birth_date",
        "address": "address",
        "expiry_date": "date",
        "fields": FIELD_MAP,
        "photo": "portrait",
    }
    assert all(known_kind(kind) for kind in PII_COLUMNS.values())


def test_masking_covers_common_columns_and_every_identifying_field() -> None:
    protector = PiiProtector("mask", field_kinds=lambda action: ACTIONS[action].field_kinds)
    for action in ACTIONS:
        row = protector.apply(row_of(action))
        spec = ACTIONS[action]
        assert row.photo is None
        if row.birth_date is not None:
            assert (row.birth_date.month, row.birth_date.day) == (1, 1)
        assert row.fields is not None
        original = DocumentResult.from_response(spec, RESPONSES[action]).fields
        for name, value in row.fields.items():
            if spec.kind(name) in ("name", "identifier", "address", "mrz") and original[name]:
                assert value != original[name], (action, name)
            if spec.kind(name) is None:
                assert value == original[name], (action, name)  # not personal: kept for analytics


def test_schema_is_explicit_and_versioned(tmp_path: Path) -> None:
    assert [name for name, _ in ID_DOCUMENT_COLUMNS] == list(OUTPUT_COLUMNS)
    target = tmp_path / "docs.parquet"
    rows = [row_of(action) for action in ACTIONS]
    rows.append(IdDocumentRow.build(record_id="e", image_uri="e.png", action="", error_code="UnsupportedAction"))
    schema = output_schema(actions=[*ACTIONS, ""])
    with ParquetOutputWriter(str(target), schema) as writer:
        writer.write_rows([row.to_dict() for row in rows])
    written = pq.read_schema(target)
    assert [(f.name, str(f.type)) for f in written] == ID_DOCUMENT_COLUMNS
    metadata = {k.decode(): v.decode() for k, v in (written.metadata or {}).items()}
    assert metadata["tencent_ocr.schema"] == "id_document"
    assert metadata["tencent_ocr.schema_version"] == ID_DOCUMENT_SCHEMA_VERSION
    assert metadata["tencent_ocr.actions"].split(",") == sorted(ACTIONS)
    assert "tencent_ocr.package_version" in metadata
    table = pq.read_table(target).to_pylist()
    assert [row["action"] for row in table] == [*ACTIONS, ""]
    passport = table[list(ACTIONS).index("MLIDPassportOCR")]
    assert dict(passport["fields"])["CodeCrc"].startswith("L898902C3")
    assert passport["number_valid"] is True and passport["birth_date"] == dt.date(1974, 8, 12)
    assert table[-1]["fields"] is None and table[-1]["status"] == "error"


def test_carried_column_may_not_shadow_an_output_column() -> None:
    import pyarrow as pa

    with pytest.raises(ValueError, match="'fields'"):
        output_schema([pa.field("fields", pa.string())])


def test_hashing_covers_every_identifying_field() -> None:
    key = b"k" * 32
    protector = PiiProtector("hash", key, field_kinds=lambda action: ACTIONS[action].field_kinds)
    for action in ACTIONS:
        spec = ACTIONS[action]
        row = row_of(action)
        hashed = protector.apply(row)
        assert hashed.fields is not None and row.fields is not None
        for name, value in row.fields.items():
            kind = spec.kind(name)
            if kind in ("name", "identifier", "address", "mrz") and value:
                assert hashed.fields[name] != value and hashed.fields[name] == protector.protect(value, kind)
        if row.document_number:
            assert hashed.document_number == protector.protect(row.document_number, "identifier")
            assert hashed.document_number != row.document_number


def test_a_replaced_declaration_is_what_rows_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/documents.md: replacing the registry's entry overrides an assumption (here the date order)."""
    import dataclasses

    action = "RecognizePhilippinesUMIDOCR"
    assert row_of(action).birth_date == dt.date(1992, 3, 4)  # 03/04/1992, month first
    monkeypatch.setitem(ACTIONS, action, dataclasses.replace(ACTIONS[action], date_order="DMY"))
    assert row_of(action).birth_date == dt.date(1992, 4, 3)
