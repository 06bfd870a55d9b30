"""How a typed output row declares its columns: one dataclass field per column, with its output facts.

``SingaporeIdCardRow`` and ``IdDocumentRow`` both use :func:`column`; the Parquet schema, the
columns an error row keeps and the personal-data kinds are all read back from these declarations.
Arrow types are named, so declaring a row needs no pyarrow (the hook imports the rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields
from typing import Any

__all__ = ["ARROW_TYPES", "arrow_fields_of", "column"]

#: Arrow type name -> its constructor, given the ``pyarrow`` module.
ARROW_TYPES: dict[str, Callable[[Any], Any]] = {
    "string": lambda pa: pa.string(),
    "int32": lambda pa: pa.int32(),
    "bool": lambda pa: pa.bool_(),
    "binary": lambda pa: pa.binary(),
    "list<int32>": lambda pa: pa.list_(pa.int32()),
    "map<string,string>": lambda pa: pa.map_(pa.string(), pa.string()),
    "date32": lambda pa: pa.date32(),
    "timestamp[us, UTC]": lambda pa: pa.timestamp("us", tz="UTC"),
}


def column(arrow: str, *, kept_on_error: bool = False, pii: str | None = None, default: Any = None) -> Any:
    """A row field with its output facts: Arrow type, kept by an error row, personal-data kind (``PiiKind``)."""
    if arrow not in ARROW_TYPES:
        raise ValueError(f"unknown Arrow type name {arrow!r}; known: {', '.join(ARROW_TYPES)}")
    return field(default=default, metadata={"arrow": arrow, "kept_on_error": kept_on_error, "pii": pii})


def arrow_fields_of(row_type: type) -> list[Any]:
    """A row dataclass's columns as ``pyarrow.Field`` objects, in file order (pyarrow imported here, lazily)."""
    import pyarrow as pa

    return [pa.field(f.name, ARROW_TYPES[f.metadata["arrow"]](pa)) for f in fields(row_type)]
