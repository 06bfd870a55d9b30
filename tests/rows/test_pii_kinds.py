"""Personal-data protection by kind: every kind in every mode, response-field maps, and row metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from airflow_provider_tencent_ocr.rows.pii import (
    FIELD_MAP,
    PiiKind,
    PiiProtector,
    check_portrait_allowed,
    column_kinds,
    hash_value,
    postcode_sector,
    protect_fields,
    year_of,
)

KEY = b"0123456789abcdef0123456789abcdef"
MASK = PiiProtector("mask")
HASH = PiiProtector("hash", KEY)


@pytest.mark.parametrize(
    ("kind", "value", "masked", "hashed"),
    [
        ("name", "TAN AH KOW", "T*****", hash_value("TAN AH KOW", KEY)),
        ("identifier", "S1234567D", "S*****", hash_value("S1234567D", KEY)),
        ("address", "1 ORCHARD RD", "1*****", hash_value("1 ORCHARD RD", KEY)),
        ("mrz", "P<MYSTAN<<AH<KOW<<<", "P*****", hash_value("P<MYSTAN<<AH<KOW<<<", KEY)),
        ("birth_date", "12/04/1988", "1988", "1988"),
        ("birth_date", "12 APR 1988", "1988", "1988"),
        ("date", "2019-03-15", "2019", "2019"),
        ("date", "15.03.2562", "2562", "2562"),  # a Buddhist-era year, kept as printed
        ("date", "880412", "8*****", "8*****"),  # no year to keep: masked, never the value
        ("postcode", "238823", "23", "23"),
        ("postcode", "S 238 823", "23", "23"),
        ("postcode", "A", "******", "******"),
        ("unknown-kind", "something personal", "s*****", "s*****"),  # unclassified: masked in both
        (None, "CHINESE", "CHINESE", "CHINESE"),  # not personal data
    ],
)
def test_each_kind_in_each_mode(kind, value, masked, hashed):
    assert MASK.protect(value, kind) == masked
    assert HASH.protect(value, kind) == hashed
    assert PiiProtector("plain").protect(value, kind) == value
    assert MASK.protect(None, kind) is None


def test_masks_hide_the_length():
    assert MASK.protect("TAN", "name") == MASK.protect("TAN AH KOW QUENTIN BARTHOLOMEW", "name")


def test_typed_dates_keep_their_type_and_only_the_year():
    assert MASK.protect(dt.date(1988, 4, 12), "birth_date") == dt.date(1988, 1, 1)
    assert HASH.protect(dt.date(2030, 12, 31), "date") == dt.date(2030, 1, 1)
    stamp = dt.datetime(1988, 4, 12, 9, 30, tzinfo=dt.UTC)
    assert MASK.protect(stamp, "date") == dt.datetime(1988, 1, 1, tzinfo=dt.UTC)


def test_portrait_dropped_unless_allowed():
    assert MASK.protect(b"\x89PNG", "portrait") is None
    assert HASH.protect(b"\x89PNG", "portrait") is None
    assert PiiProtector("mask", allow_portrait=True).protect(b"\x89PNG", "portrait") == b"\x89PNG"
    assert PiiProtector("plain").protect(b"\x89PNG", "portrait") == b"\x89PNG"


def test_check_portrait_allowed_names_the_arguments():
    check_portrait_allowed("plain", wants_portrait=True, allow_portrait=False)
    check_portrait_allowed("mask", wants_portrait=False, allow_portrait=False)
    check_portrait_allowed("hash", wants_portrait=True, allow_portrait=True)
    with pytest.raises(ValueError, match=r"pii='hash'.*photo_output='none'.*allow_portrait=True"):
        check_portrait_allowed("HASH", wants_portrait=True, allow_portrait=False)


def test_protect_fields_by_kind_and_unknown_fields_masked():
    fields = {
        "Name": "SITI BINTI ALI",
        "NIK": "3171234567890001",
        "BirthDate": "17-08-1990",
        "PostCode": "10110",
        "Religion": "ISLAM",
        "NewField": "1990-08-17 JAKARTA",
    }
    kinds = {"Name": "name", "NIK": "identifier", "BirthDate": "birth_date", "PostCode": "postcode", "Religion": None}
    masked = protect_fields(fields, kinds, "mask")
    assert masked == {
        "Name": "S*****",
        "NIK": "3*****",
        "BirthDate": "1990",
        "PostCode": "10",
        "Religion": "ISLAM",
        "NewField": "1*****",
    }
    hashed = protect_fields(fields, kinds, HASH)
    assert hashed["NIK"] == hash_value("3171234567890001", KEY)
    assert hashed["NewField"] == "1*****"  # unknown kind: masked, not hashed
    assert protect_fields(fields, kinds, "plain") == fields
    with pytest.raises(ValueError, match="HMAC key"):
        protect_fields(fields, kinds, "hash")  # hash needs a protector holding the key


@dataclasses.dataclass(frozen=True)
class _DocumentRow:
    """A row shaped like IdDocumentRow: common columns with kinds, and the ``fields`` map."""

    action: str | None = None
    full_name: str | None = dataclasses.field(default=None, metadata={"pii": "name"})
    birth_date: dt.date | None = dataclasses.field(default=None, metadata={"pii": "birth_date"})
    nationality: str | None = dataclasses.field(default=None, metadata={"pii": None})
    fields: dict[str, str] | None = dataclasses.field(default=None, metadata={"pii": FIELD_MAP})


def test_rows_take_column_kinds_from_metadata_and_field_kinds_from_the_action():
    assert column_kinds(_DocumentRow) == {"full_name": "name", "birth_date": "birth_date", "fields": FIELD_MAP}
    kinds: dict[str, dict[str, Any]] = {"MLIDCardOCR": {"Name": "name", "Sex": None}}
    protector = PiiProtector("mask", field_kinds=kinds.__getitem__)
    row = _DocumentRow(
        "MLIDCardOCR", "SITI", dt.date(1990, 8, 17), "MALAYSIA", {"Name": "SITI", "Sex": "F", "ID": "900817-14-5678"}
    )
    out = protector.apply(row)
    assert out == _DocumentRow(
        "MLIDCardOCR", "S*****", dt.date(1990, 1, 1), "MALAYSIA", {"Name": "S*****", "Sex": "F", "ID": "9*****"}
    )
    # An action nobody declared: every field is masked.
    unknown = dataclasses.replace(row, action="RecognizeSomethingNewOCR")
    assert PiiProtector("mask").apply(unknown).fields == {"Name": "S*****", "Sex": "******", "ID": "9*****"}
    assert PiiProtector("plain").apply(row) is row


def test_every_kind_is_documented_in_the_table():
    from pathlib import Path

    table = (Path(__file__).parents[2] / "docs" / "personal-data.md").read_text(encoding="utf-8")
    for kind in PiiKind:
        assert f"`{kind.value}`" in table


@pytest.mark.parametrize(("value", "year"), [("", ""), ("01-02-1980", "1980"), ("1980/02/01", "1980")])
def test_year_of(value, year):
    assert year_of(value) == year


def test_postcode_sector_empty_stays_empty():
    assert postcode_sector("") == ""


def test_every_output_column_is_in_the_table():
    from pathlib import Path

    from airflow_provider_tencent_ocr.actions.singapore_id_card import OUTPUT_COLUMNS

    table = (Path(__file__).parents[2] / "docs" / "personal-data.md").read_text(encoding="utf-8")
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    for column in OUTPUT_COLUMNS:
        documented = any(f"`{column}`" in row or (column.startswith("warn_") and "`warn_*`" in row) for row in rows)
        assert documented, f"column {column!r} missing from docs/personal-data.md"


def test_the_default_field_kinds_are_the_registrys():
    """The operator builds PiiProtector without a resolver: an id-document row still gets its action's kinds."""
    from document_responses import RESPONSES

    from airflow_provider_tencent_ocr.actions.registry import require_action
    from airflow_provider_tencent_ocr.actions.result import DocumentResult
    from airflow_provider_tencent_ocr.rows.id_document import IdDocumentRow

    spec = require_action("MLIDPassportOCR")
    result = DocumentResult.from_response(spec, RESPONSES["MLIDPassportOCR"])
    row = IdDocumentRow.build(record_id="1", image_uri="p.png", result=result)
    masked = PiiProtector("mask").apply(row)
    assert row.fields and masked.fields
    for name, value in row.fields.items():
        kind = spec.field_kinds.get(name)
        assert masked.fields[name] == MASK.protect(value, kind), name
        if kind is None:
            assert masked.fields[name] == value  # sex, nationality...: as read
    assert masked.photo is None and masked.birth_date is not None and masked.birth_date.timetuple()[1:3] == (1, 1)
