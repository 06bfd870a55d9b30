"""Column declarations: an unknown Arrow type name is refused where the row is declared."""

from __future__ import annotations

import pytest

from airflow_provider_tencent_ocr.rows.columns import ARROW_TYPES, column


def test_unknown_arrow_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Arrow type name 'strnig'"):
        column("strnig")


def test_every_named_type_builds() -> None:
    import pyarrow as pa

    assert {name: str(make(pa)) for name, make in ARROW_TYPES.items()} == {
        "string": "string",
        "int32": "int32",
        "bool": "bool",
        "binary": "binary",
        "list<int32>": "list<item: int32>",
        "map<string,string>": "map<string, string>",
        "date32": "date32[day]",
        "timestamp[us, UTC]": "timestamp[us, tz=UTC]",
    }
