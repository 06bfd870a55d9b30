"""IdDocumentRow: one output row of the id-document table, for any ID-document action.

Like ``SingaporeIdCardRow``, one frozen dataclass owns the columns: their order, Arrow types, what
an error row keeps and each column's personal-data kind (``pii=<kind>`` metadata). The common
typed columns and the validators are computed whenever a row is built, so every way of driving
the runner writes them. The schema is versioned in the Parquet key-value metadata.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal

from airflow_provider_tencent_ocr.actions.registry import get_action, require_action
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.rows.columns import arrow_fields_of, column
from airflow_provider_tencent_ocr.rows.pii import FIELD_MAP

__all__ = [
    "ID_DOCUMENT_SCHEMA",
    "ID_DOCUMENT_SCHEMA_VERSION",
    "KEPT_ON_ERROR",
    "OUTPUT_COLUMNS",
    "PII_COLUMNS",
    "IdDocumentRow",
    "arrow_fields",
    "output_schema",
    "schema_metadata",
]

#: The schema's name and version in the file's key-value metadata; bump the version on any column change.
ID_DOCUMENT_SCHEMA = "id_document"
ID_DOCUMENT_SCHEMA_VERSION = "1"
METADATA_SCHEMA = "tencent_ocr.schema"
METADATA_ACTIONS = "tencent_ocr.actions"


@dataclass(frozen=True, slots=True)
class IdDocumentRow:
    """One output row of any ID-document action; field order is file order (see docs/documents.md)."""

    record_id: str | None = column("string", kept_on_error=True)
    image_uri: str | None = column("string", kept_on_error=True)
    image_sha256: str | None = column("string", kept_on_error=True)
    status: Literal["ok", "error"] = column("string", default="error")
    error_code: str | None = column("string")
    error_message: str | None = column("string")
    request_id: str | None = column("string", kept_on_error=True)
    attempts: int = column("int32", kept_on_error=True, default=0)
    # The API action that read the row (an error row keeps the name it was asked for).
    action: str | None = column("string", kept_on_error=True)
    # The common typed columns (ActionSpec.common).
    document_number: str | None = column("string", pii="identifier")
    full_name: str | None = column("string", pii="name")
    birth_date: date | None = column("date32", pii="birth_date")
    sex: str | None = column("string")
    address: str | None = column("string", pii="address")
    nationality: str | None = column("string")
    expiry_date: date | None = column("date32", pii="date")
    number_valid: bool | None = column("bool")
    number_consistent: bool | None = column("bool")
    # Every text field of the answer by API name; each protected by its action's field kind.
    fields: Mapping[str, str] | None = column("map<string,string>", pii=FIELD_MAP)
    photo: bytes | None = column("binary", pii="portrait")
    warn_codes: tuple[int, ...] | None = column("list<int32>")
    # One flag per shared warn code; null on error rows and for actions without warn codes.
    warn_covered: bool | None = column("bool")
    warn_photocopy: bool | None = column("bool")
    warn_photographed: bool | None = column("bool")
    warn_edited: bool | None = column("bool")
    warn_reflective: bool | None = column("bool")
    warn_blurry: bool | None = column("bool")
    warn_not_enabled: bool | None = column("bool")
    ocr_at: datetime | None = column("timestamp[us, UTC]", kept_on_error=True)
    # Where an exported portrait went (photo_output="files").
    photo_path: str | None = column("string")

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return (
            f"IdDocumentRow(action={self.action!r}, status={self.status!r}, error_code={self.error_code!r}, "
            f"request_id={self.request_id!r}, attempts={self.attempts!r})"
        )

    __str__ = __repr__

    def __getitem__(self, column: str) -> Any:
        """Read a column by name (``row["status"]``), as from the dict the writer receives."""
        if column not in _COLUMN_SET:
            raise KeyError(column)
        return getattr(self, column)

    @classmethod
    def build(
        cls,
        *,
        record_id: str | None,
        image_uri: str | None,
        action: str | None = None,
        image_sha256: str | None = None,
        result: DocumentResult | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
        attempts: int = 0,
        ocr_at: datetime | None = None,
    ) -> IdDocumentRow:
        """The row of one manifest row: ``ok`` with every column when ``result`` is given, else ``error``.

        ``action`` is the name asked for (kept on an error row, even an unknown one); a result
        carries its own. Raises ``UnsupportedActionError`` for a result of an unknown action.
        """
        identity: dict[str, Any] = {
            "record_id": record_id,
            "image_uri": image_uri,
            "image_sha256": image_sha256,
            "request_id": request_id,
            "attempts": attempts,
            "ocr_at": ocr_at,
        }
        if result is None:
            return cls(**identity, action=action, status="error", error_code=error_code, error_message=error_message)
        spec = require_action(result.action)
        common = spec.common(result.fields)
        warn_flags: dict[str, Any] = result.warn_flags(spec)
        return cls(
            **identity,
            action=spec.name,
            status="ok",
            document_number=common.document_number,
            full_name=common.full_name,
            birth_date=common.birth_date,
            sex=common.sex,
            address=common.address,
            nationality=common.nationality,
            expiry_date=common.expiry_date,
            number_valid=common.number_valid,
            number_consistent=common.number_consistent,
            fields=dict(result.fields),
            photo=result.photo,
            warn_codes=tuple(result.warn_codes),
            **warn_flags,
        )

    def as_error(self, error_code: str, error_message: str) -> IdDocumentRow:
        """This row turned into an error row: only its identity columns stay (``KEPT_ON_ERROR``)."""
        kept = {column: getattr(self, column) for column in KEPT_ON_ERROR}
        return type(self)(**kept, status="error", error_code=error_code, error_message=error_message)

    def to_dict(self) -> dict[str, Any]:
        """Column name -> value in file order, as the Parquet writer takes it."""
        out = {column: getattr(self, column) for column in OUTPUT_COLUMNS}
        if self.warn_codes is not None:
            out["warn_codes"] = list(self.warn_codes)
        if self.fields is not None:
            out["fields"] = dict(self.fields)
        return out


#: The row's columns in file order; carried manifest columns follow them in the output.
OUTPUT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(IdDocumentRow))
_COLUMN_SET = frozenset(OUTPUT_COLUMNS)
#: What an error row keeps when a later step fails: the identity of the row, never its content.
KEPT_ON_ERROR: frozenset[str] = frozenset(f.name for f in fields(IdDocumentRow) if f.metadata["kept_on_error"])
#: Column -> personal-data kind, for the columns that have one (``fields`` is protected per field).
PII_COLUMNS: dict[str, str] = {f.name: f.metadata["pii"] for f in fields(IdDocumentRow) if f.metadata["pii"]}


def arrow_fields() -> list[Any]:
    """The row's columns as ``pyarrow.Field`` objects, in file order (pyarrow imported here, lazily)."""
    return arrow_fields_of(IdDocumentRow)


def schema_metadata(actions: Iterable[str], *, package_version: str | None = None) -> dict[str, str]:
    """The file's key-value metadata: schema name and version, the actions it holds, package version."""
    from airflow_provider_tencent_ocr import __version__
    from airflow_provider_tencent_ocr.io.parquet import METADATA_PACKAGE_VERSION, METADATA_SCHEMA_VERSION

    names = sorted({name for name in actions if get_action(name) is not None})
    return {
        METADATA_SCHEMA: ID_DOCUMENT_SCHEMA,
        METADATA_SCHEMA_VERSION: ID_DOCUMENT_SCHEMA_VERSION,
        METADATA_ACTIONS: ",".join(names),
        METADATA_PACKAGE_VERSION: package_version or __version__,
    }


def output_schema(carry_fields: Sequence[Any] = (), *, actions: Iterable[str] = ()) -> Any:
    """The id-document Parquet schema: the row's columns, then carried columns, with the metadata.

    Raises ``ValueError`` when a carried column would shadow an output column or another carried one.
    """
    import pyarrow as pa

    clashes = [f.name for f in carry_fields if f.name in _COLUMN_SET]
    if clashes:
        raise ValueError(
            f"carried manifest column(s) {', '.join(map(repr, clashes))} have the same name as output "
            "columns: rename them in the manifest or drop them from carry_columns"
        )
    names = [f.name for f in carry_fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"carried column(s) {', '.join(map(repr, duplicates))} are listed more than once")
    return pa.schema([*arrow_fields(), *carry_fields], metadata=schema_metadata(actions))
