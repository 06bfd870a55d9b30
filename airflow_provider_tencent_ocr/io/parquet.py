"""The output table: its explicit schema, and a writer that streams row groups and publishes atomically.

The schema is always explicit (pandas 3 would otherwise write ``large_string``, and an empty or
all-error run would lose column types). A reader never sees a partial file: rows go to a temporary
file that replaces the target only on :meth:`ParquetOutputWriter.commit`.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airflow_provider_tencent_ocr import __version__
from airflow_provider_tencent_ocr.actions.singapore_id_card import ACTION, arrow_fields
from airflow_provider_tencent_ocr.actions.singapore_id_card import OUTPUT_COLUMNS as ROW_COLUMNS
from airflow_provider_tencent_ocr.exceptions import UnwritableRows
from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.tempfiles import LockedTempFile, remove_stale
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri

__all__ = [
    "OUTPUT_COLUMNS",
    "ColumnMetadata",
    "SCHEMA_VERSION",
    "ParquetOutputWriter",
    "output_schema",
]

#: What Arrow raises for a value that does not fit its column (wrong type, out of range, unencodable text).
ARROW_REFUSALS: tuple[type[Exception], ...] = (pa.ArrowException, OverflowError, UnicodeError, TypeError, ValueError)

SCHEMA_VERSION = "1"
METADATA_SCHEMA_VERSION = "tencent_ocr.schema_version"
METADATA_ACTION = "tencent_ocr.action"
METADATA_PACKAGE_VERSION = "tencent_ocr.package_version"
#: Where Arrow keeps its own schema in a Parquet footer; pyarrow readers take the schema metadata from it.
ARROW_SCHEMA_KEY = "ARROW:schema"

#: The fixed output columns, in file order (owned by the row definition); carried manifest columns follow.
OUTPUT_COLUMNS: list[str] = list(ROW_COLUMNS)


def output_schema(
    carry_fields: Sequence[pa.Field] = (),
    *,
    action: str = ACTION,
    package_version: str = __version__,
) -> pa.Schema:
    """The output schema: fixed columns, then carried columns, with version metadata.

    Raises ``ValueError`` when a carried column would shadow an output column or another carried one.
    """
    reserved = set(OUTPUT_COLUMNS)
    clashes = [f.name for f in carry_fields if f.name in reserved]
    if clashes:
        raise ValueError(
            f"carried manifest column(s) {', '.join(map(repr, clashes))} have the same name as output "
            "columns: rename them in the manifest or drop them from carry_columns"
        )
    names = [f.name for f in carry_fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"carried column(s) {', '.join(map(repr, duplicates))} are listed more than once")
    metadata = {
        METADATA_SCHEMA_VERSION: SCHEMA_VERSION,
        METADATA_ACTION: action,
        METADATA_PACKAGE_VERSION: package_version,
    }
    return pa.schema([*arrow_fields(), *carry_fields], metadata=metadata)


@dataclass(frozen=True)
class ColumnMetadata:
    """Metadata known only once every row is written: made at commit from one column's distinct values.

    ``metadata`` gets the column's distinct non-null values, sorted, and returns the keys to set (e.g.
    the actions a mixed run's file holds, which are not known when its writer starts).
    """

    column: str
    metadata: Callable[[Iterable[str]], Mapping[str, str]]


class ParquetOutputWriter:
    """Streams output rows into row groups and publishes the file atomically on :meth:`commit`.

    Local targets: a hidden temporary file next to the target, then ``os.replace``. Object
    storage: a local temporary file, then one upload to the final key, so a reader sees either
    the previous object or the complete new one. Leaving the ``with`` block on an exception (or
    calling :meth:`abort`) removes the temporary file and leaves any previous output untouched;
    leaving it normally commits if that has not been done yet.

    Personal data on disk: the temporary file is private (0600) and locked while its writer lives;
    the temporary files of writers that died (SIGKILL) are removed by the next writer of the same
    output. A published local file gets ``permissions.file`` (default 0640) and the folders created
    for it ``permissions.dir`` (default 0750), whatever the umask.

    ``metadata_at_commit``: key-value metadata computed from the rows written, set at commit both in
    the footer and in the Arrow schema it stores (which is where pyarrow and pandas read it).
    """

    def __init__(
        self,
        uri: str,
        schema: pa.Schema,
        *,
        storage_conn_id: str | None = None,
        row_group_rows: int = 5000,
        compression: str = "zstd",
        permissions: storage.Permissions = storage.PERSONAL_DATA,
        metadata_at_commit: ColumnMetadata | None = None,
    ) -> None:
        if row_group_rows < 1:
            raise ValueError(f"row_group_rows must be at least 1, got {row_group_rows}")
        self.uri = uri
        self.schema = schema
        self.storage_conn_id = storage_conn_id
        self.row_group_rows = row_group_rows
        self.compression = compression
        self.rows_written = 0
        self._buffer: list[pa.Table] = []  # converted rows not yet in a row group
        self._buffered = 0
        self._columns = frozenset(schema.names)
        self._writer: pq.ParquetWriter | None = None
        self.permissions = permissions
        self.metadata_at_commit = metadata_at_commit
        self._column_values: set[str] = set()  # distinct values of metadata_at_commit's column so far
        self._temp: LockedTempFile | None = None
        self._state = "open"  # -> "committed" | "aborted"
        path = local_path(uri)
        self._local_path: str | None = os.path.abspath(path) if path is not None else None

    def __repr__(self) -> str:
        return f"ParquetOutputWriter(uri={redact_uri(self.uri)!r}, state={self._state!r}, rows={self.rows_written})"

    def __enter__(self) -> ParquetOutputWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        elif self._state == "open":
            self.commit()

    # ----------------------------------------------------------------------------------------------

    def write_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Buffer rows (dicts by column name; missing keys are null) and write full row groups.

        The rows become Arrow here, all or none: when some do not fit the schema, nothing of ``rows``
        is kept and :class:`UnwritableRows` names them, so the caller can replace them and write again.
        """
        if self._state != "open":
            raise RuntimeError(f"cannot write to {redact_uri(self.uri)!r}: the writer is already {self._state}")
        unknown = set().union(*rows) - self._columns if rows else set()
        if unknown:
            raise ValueError(f"rows have keys that are not output columns: {', '.join(sorted(map(repr, unknown)))}")
        if not rows:
            return
        table = self._to_table(rows)
        if self.metadata_at_commit is not None:
            values = pc.unique(table.column(self.metadata_at_commit.column)).to_pylist()
            self._column_values.update(str(v) for v in values if v is not None)
        self._buffer.append(table)
        self._buffered += len(rows)
        if self._buffered >= self.row_group_rows:
            table = pa.concat_tables(self._buffer)
            while table.num_rows >= self.row_group_rows:
                self._write_table(table.slice(0, self.row_group_rows))
                table = table.slice(self.row_group_rows)
            self._buffer = [table] if table.num_rows else []
            self._buffered = table.num_rows

    @property
    def rows_received(self) -> int:
        """Rows handed to :meth:`write_rows` so far (written or still buffered)."""
        return self.rows_written + self._buffered

    def commit(self, uri: str | None = None) -> None:
        """Write what is buffered, close the file, and publish it under the target URI (or ``uri``).

        ``uri`` sets a failed run's rows aside for diagnosis without touching the published output.
        """
        if self._state != "open":
            raise RuntimeError(f"cannot commit {redact_uri(self.uri)!r}: the writer is already {self._state}")
        try:
            if self._buffer:
                table, self._buffer, self._buffered = pa.concat_tables(self._buffer), [], 0
                self._write_table(table)
            writer = self._ensure_writer()  # an empty run still gets a file with the full schema
            if self.metadata_at_commit is not None:
                writer.add_key_value_metadata(self._late_metadata(self.metadata_at_commit))
            writer.close()
            self._writer = None
            assert self._temp is not None
            storage.publish(
                self._temp.path, uri or self.uri, conn_id=self.storage_conn_id, permissions=self.permissions
            )
            self._temp.release(remove=False)
            self._temp = None
        except BaseException:
            self.abort()
            raise
        self._state = "committed"

    def abort(self) -> None:
        """Drop the temporary file; the previous output, if any, stays as it was. Idempotent."""
        if self._state == "committed":
            return
        self._state = "aborted"
        self._buffer, self._buffered = [], 0
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        if self._temp is not None:
            self._temp.release(remove=True)
            self._temp = None

    # ----------------------------------------------------------------------------------------------

    def _to_table(self, rows: Sequence[dict[str, Any]]) -> pa.Table:
        """``rows`` as Arrow; raises :class:`UnwritableRows` naming each row the schema refuses."""
        try:
            return pa.Table.from_pylist(list(rows), schema=self.schema)
        except ARROW_REFUSALS as batch_error:
            refused: list[tuple[int, str]] = []
            for index, row in enumerate(rows):  # rare: find the culprits one by one
                try:
                    pa.Table.from_pylist([row], schema=self.schema)
                except ARROW_REFUSALS as err:
                    refused.append((index, type(err).__name__))
            if not refused:  # only the batch as a whole fails: not a row's fault, say so
                raise
            raise UnwritableRows([i for i, _ in refused], [c for _, c in refused]) from batch_error

    def _write_table(self, table: pa.Table) -> None:
        self._ensure_writer().write_table(table, row_group_size=self.row_group_rows)
        self.rows_written += table.num_rows

    def _late_metadata(self, late: ColumnMetadata) -> dict[str, str]:
        """The footer keys to add at commit, with the stored Arrow schema carrying the same values.

        pyarrow's readers take the schema metadata from the Arrow schema serialised in the footer at
        open (``ARROW:schema``), not from the footer's other keys: both must say the same.
        """
        added = {str(k): str(v) for k, v in late.metadata(sorted(self._column_values)).items()}
        final = self.schema.with_metadata(
            {**(self.schema.metadata or {}), **{k.encode(): v.encode() for k, v in added.items()}}
        )
        return {**added, ARROW_SCHEMA_KEY: base64.b64encode(final.serialize().to_pybytes()).decode("ascii")}

    def _ensure_writer(self) -> pq.ParquetWriter:
        if self._writer is None:
            local = self._local_path is not None
            target = self._local_path if local else self.uri
            assert target is not None
            if local:
                storage.make_dirs(os.path.dirname(target), self.permissions)
            remove_stale(target, local=local)  # left by a writer of this output that was killed
            self._temp = LockedTempFile(target, local=local)
            self._writer = pq.ParquetWriter(self._temp.path, self.schema, compression=self.compression)
        return self._writer
