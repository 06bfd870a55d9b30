"""Reading image manifests (CSV, Parquet, JSON Lines) from any filesystem, in bounded batches.

A manifest is validated when it is opened, before a single API call is paid for: the file must
exist and parse, and the image, id and carried columns must be present. CSV and JSON Lines are
read once at open time for that (and to infer carried column types over the whole file, so the
output schema never depends on the batch size and never fails half-way through a run); the
second pass streams the rows. Memory stays bounded by ``batch_rows`` whatever the file size.
"""

from __future__ import annotations

import collections
import gzip
import itertools
import json
import os
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from airflow_provider_tencent_ocr.exceptions import ManifestError
from airflow_provider_tencent_ocr.io.manifest_text import MAX_LINE_BYTES, TextError, capped_lines, check_csv_quoting
from airflow_provider_tencent_ocr.io.uris import (
    NotARegularFile,
    local_path,
    open_local,
    path_part,
    redact_uri,
    storage_install_hint,
)

__all__ = [
    "MAX_LINE_BYTES",
    "Manifest",
    "ManifestError",
    "ManifestRow",
    "manifest_from_images",
    "open_manifest",
]

FORMATS = ("csv", "parquet", "jsonl")
_FORMAT_ALIASES = {
    "csv": "csv",
    "parquet": "parquet",
    "pq": "parquet",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "jsonl",
    "jsonlines": "jsonl",
}
# pyarrow reads CSV in blocks; a fixed size keeps its behaviour independent of the environment.
_CSV_BLOCK_SIZE = 1 << 20
# pyarrow's CSV defaults, so the types inferred here are the ones its converter then accepts.
_CSV_TRUE = ("1", "True", "TRUE", "true")
_CSV_FALSE = ("0", "False", "FALSE", "false")
_CSV_CANDIDATES: tuple[pa.DataType, ...] = (pa.int64(), pa.float64(), pa.bool_(), pa.date32())
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Errors of a damaged file (truncated or fake gzip, bad bytes) that are reported as ManifestError.
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One manifest row: its position, record id, image URI (as given) and carried values."""

    index: int
    record_id: str
    image_uri: str | None
    carried: dict[str, Any]


class Manifest:
    """A validated manifest; iterate it with :meth:`iter_batches` (each call starts from the top)."""

    format: str = ""

    def __init__(self, source: str, carry_fields: list[pa.Field], batch_rows: int) -> None:
        self.source = source
        self.carry_fields = carry_fields
        self.batch_rows = batch_rows

    def iter_batches(self) -> Iterator[list[ManifestRow]]:
        """Lists of at most ``batch_rows`` rows, in manifest order."""
        raise NotImplementedError

    def count_rows(self) -> int:
        """Number of data rows (for progress totals)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={redact_uri(self.source)!r}, format={self.format!r})"


# --------------------------------------------------------------------------------------------------
# Locating and opening the file


class _Location:
    """Where the manifest lives: a local path, or object storage (read through the storage adapter)."""

    def __init__(self, source: str, storage_conn_id: str | None) -> None:
        self.source = source
        self.storage_conn_id = storage_conn_id
        self.local_path = local_path(source)
        if self.local_path is None:
            from airflow_provider_tencent_ocr.io import storage

            try:
                storage.filesystem(source, storage_conn_id)
            except ImportError as exc:  # the scheme's filesystem package (e.g. s3fs) is missing
                raise ManifestError(f"manifest {source!r} cannot be read: {storage_install_hint(source)}") from exc
            except Exception as exc:  # unknown scheme, bad URI or unknown connection
                raise ManifestError(
                    f"manifest {source!r}: cannot resolve this URI ({type(exc).__name__}: {exc}); check the "
                    "URI and storage_conn_id, and install the Airflow provider for this scheme (for example "
                    "apache-airflow-providers-amazon for s3://)"
                ) from None  # the cause's text is in the message, redacted; its own may quote the URI

    def check_exists(self) -> None:
        if self.local_path is not None:
            if not os.path.exists(self.local_path):
                raise ManifestError(
                    f"manifest {self.source!r} does not exist: check the path (relative paths are "
                    f"resolved from {os.getcwd()!r})"
                )
            if os.path.isdir(self.local_path):
                raise ManifestError(f"manifest {self.source!r} is a directory: give the path of one file")
            try:
                with open_local(self.local_path):
                    pass
            except NotARegularFile as exc:
                raise ManifestError(f"manifest {self.source!r} is {exc}: give the path of a file") from exc
            except OSError as exc:
                raise ManifestError(
                    f"manifest {self.source!r} cannot be opened ({type(exc).__name__}: {exc.strerror}): "
                    "check its permissions"
                ) from exc
            return
        from airflow_provider_tencent_ocr.io import storage

        try:
            exists = storage.exists(self.source, conn_id=self.storage_conn_id)
        except ImportError as exc:  # the scheme's filesystem package (e.g. s3fs) is missing
            hint = storage_install_hint(self.source)
            raise ManifestError(f"manifest {self.source!r} cannot be read: {hint}") from exc
        except ValueError as exc:  # "No filesystem registered for scheme ..."
            raise ManifestError(
                f"manifest {self.source!r}: {exc}; {storage_install_hint(self.source)}, or pass a local path"
            ) from None  # the cause's text is in the message, redacted
        except Exception as exc:
            raise ManifestError(
                f"manifest {self.source!r} could not be checked ({type(exc).__name__}: {exc}); "
                "check storage_conn_id and permissions"
            ) from None  # the cause's text is in the message, redacted
        if not exists:
            raise ManifestError(f"manifest {self.source!r} does not exist: check the URI and storage_conn_id")

    def fingerprint(self) -> tuple[object, ...]:
        """The file's size, modification time and inode (or ETag): it changes when the file is rewritten."""
        from airflow_provider_tencent_ocr.io import storage

        return storage.fingerprint(self.source, conn_id=self.storage_conn_id)

    @contextmanager
    def open_binary(self) -> Iterator[IO[bytes]]:
        from airflow_provider_tencent_ocr.io import storage

        with storage.open_read(self.source, conn_id=self.storage_conn_id) as fh:  # a local FIFO is refused
            yield fh


def _detect_format(source: str, manifest_format: str | None) -> tuple[str, bool]:
    """``(format, gzipped)`` from ``manifest_format`` or the file extension."""
    path = path_part(source)
    name = os.path.basename(path).lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    if manifest_format:
        fmt = _FORMAT_ALIASES.get(manifest_format.lower().lstrip("."))
        if fmt is None:
            raise ManifestError(
                f"manifest {source!r}: unknown manifest_format {manifest_format!r}; use one of {', '.join(FORMATS)}"
            )
        return fmt, gzipped
    ext = os.path.splitext(name)[1].lstrip(".")
    fmt = _FORMAT_ALIASES.get(ext)
    if fmt is None:
        raise ManifestError(
            f"manifest {source!r}: cannot tell the format from the extension "
            f"{('.' + ext) if ext else '(none)'}; "
            "use .csv, .parquet/.pq, .jsonl/.ndjson/.json (optionally .gz) or pass manifest_format"
        )
    return fmt, gzipped


def _sanitise(message: str) -> str:
    """Drop the cell values pyarrow quotes in its errors: manifest cells may be personal data."""
    message = re.sub(r"(Expected \d+ columns, got \d+):.*", r"\1", message, flags=re.S)
    message = re.sub(r"invalid value '.*?'", "invalid value (not shown)", message, flags=re.S)
    message = re.sub(r""" ?\(b(['"]).*?\1\)""", "", message, flags=re.S)  # gzip quotes the first bytes
    return message.strip()


def _missing(source: str, kind: str, missing: Sequence[str], found: Sequence[str], hint: str) -> ManifestError:
    names = ", ".join(repr(m) for m in missing)
    found_text = ", ".join(repr(f) for f in found) if found else "(none)"
    # Near misses (case, stray spaces) are the usual cause: point at them.
    by_key = {str(f).strip().lower(): f for f in found}
    near = [f"{by_key[m.strip().lower()]!r} for {m!r}" for m in missing if m.strip().lower() in by_key]
    near_text = f" Did you mean {', '.join(near)}?" if near else ""
    return ManifestError(f"manifest {source!r} has no {kind} {names}; columns found: {found_text}.{near_text} {hint}")


def _check_columns(
    source: str,
    found: Sequence[str],
    image_column: str,
    id_column: str | None,
    carry_columns: Sequence[str],
    named_by: Mapping[str, str],
) -> None:
    """Every column this run reads is there; a missing one is reported under the argument that named it."""
    found_set = set(found)
    if image_column not in found_set:
        raise _missing(source, "image column", [image_column], found, "Pass image_column= with the right name.")
    if id_column is not None and id_column not in found_set:
        raise _missing(
            source,
            "id column",
            [id_column],
            found,
            "Pass id_column= with the right name, or None for row numbers.",
        )
    for column, argument in named_by.items():
        if column not in found_set:
            raise _missing(source, argument, [column], found, f"Pass {argument}= with the right name.")
    missing = [c for c in carry_columns if c not in found_set]
    if missing:
        raise _missing(
            source,
            "carried column(s)",
            missing,
            found,
            "Fix carry_columns= or add the columns to the manifest.",
        )


def _check_unique(source: str, found: Sequence[str], needed: Sequence[str]) -> None:
    """Refuse a manifest where a column this run reads appears twice: which one is meant is a guess."""
    counts = collections.Counter(found)
    doubled = [c for c in needed if counts[c] > 1]
    if doubled:
        names = ", ".join(f"{c!r} ({counts[c]} times)" for c in doubled)
        raise ManifestError(f"manifest {source!r} has more than one column named {names}: rename or drop the extras")


def _needed_columns(image_column: str, id_column: str | None, carry_columns: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([image_column, *([id_column] if id_column else []), *carry_columns]))


def _record_id(value: Any, index: int, id_column: str | None) -> str:
    if id_column is None:
        return str(index)
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _image_uri(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class _FileManifest(Manifest):
    """A manifest read from a file: where it is, which of its columns matter, validated when opened.

    Subclasses implement :meth:`_scan` (check the file, count its rows, return each carried
    column's type); the constructor calls it once, so every subclass opens the same way.
    """

    def __init__(
        self,
        location: _Location,
        image_column: str,
        id_column: str | None,
        carry_columns: Sequence[str],
        batch_rows: int,
        *,
        gzipped: bool = False,
        named_by: Mapping[str, str] | None = None,
    ) -> None:
        self._location = location
        self._named_by = dict(named_by or {})
        self._gzipped = gzipped
        self.image_column = image_column
        self.id_column = id_column
        self.carry_columns = list(carry_columns)
        self._needed = _needed_columns(image_column, id_column, carry_columns)
        self._num_rows = 0
        self._fingerprint = location.fingerprint()  # before the scan: a change from here on is caught
        types = self._scan()
        super().__init__(location.source, [pa.field(c, types[c]) for c in self.carry_columns], batch_rows)

    def _scan(self) -> dict[str, pa.DataType]:
        """Validate the file, set ``_num_rows``, and return the carried columns' types."""
        raise NotImplementedError

    def _batches(self) -> Iterator[list[ManifestRow]]:
        """The rows, in batches (what ``iter_batches`` checks)."""
        raise NotImplementedError

    def iter_batches(self) -> Iterator[list[ManifestRow]]:
        """The rows in batches, from a file that is still the one checked: never fewer rows, silently.

        A manifest overwritten between the check and the end of the run (size, modification time,
        inode or ETag changed), or yielding another number of rows than was counted, fails naming
        the file: the output must have one row per manifest row of one version of the manifest.
        """
        self._check_unchanged("after it was checked")
        read = 0
        for batch in self._batches():
            read += len(batch)
            yield batch
        self._check_unchanged("while its rows were read")
        if read != self._num_rows:
            raise self._changed(f"it gave {read} rows where {self._num_rows} were counted when it was checked")

    def _check_unchanged(self, when: str) -> None:
        try:
            now = self._location.fingerprint()
        except FileNotFoundError:
            raise self._changed(f"it was deleted {when}") from None
        if now != self._fingerprint:
            raise self._changed(f"it was modified {when}")

    def _changed(self, what: str) -> ManifestError:
        return ManifestError(
            f"manifest {redact_uri(self._location.source)!r} changed under the task: {what}. No output was "
            "published; write manifests to a new name (or finish writing them) before the task starts, then rerun"
        )

    def count_rows(self) -> int:
        return self._num_rows


class _ArrowManifest(_FileManifest):
    """Shared row building for formats read as Arrow record batches."""

    def _rows(self, batch: pa.RecordBatch, start: int) -> list[ManifestRow]:
        n = batch.num_rows
        images = batch.column(self.image_column).to_pylist()
        ids = batch.column(self.id_column).to_pylist() if self.id_column else [None] * n
        carried = {c: batch.column(c).to_pylist() for c in self.carry_columns}
        return [
            ManifestRow(
                index=start + i,
                record_id=_record_id(ids[i], start + i, self.id_column),
                image_uri=_image_uri(images[i]),
                carried={c: values[i] for c, values in carried.items()},
            )
            for i in range(n)
        ]


# --------------------------------------------------------------------------------------------------
# CSV


class _CsvManifest(_ArrowManifest):
    """CSV through pyarrow's streaming reader; the raw text is checked first (see ``manifest_text``).

    Carried columns' types are inferred here over the whole file, not by pyarrow: its streaming
    reader infers from the first block only and would fail half-way through a run on a later row,
    and it would turn codes such as ``007`` into numbers.
    """

    format = "csv"
    _include: tuple[str, ...] = ()  # every column until the header has been checked

    @property
    def _text_columns(self) -> set[str]:
        return {self.image_column, *([self.id_column] if self.id_column else [])}

    @contextmanager
    def _reader(
        self, column_types: dict[str, pa.DataType], *, strings_can_be_null: bool
    ) -> Iterator[pa_csv.CSVStreamingReader]:
        with self._location.open_binary() as raw:
            stream: Any = pa.PythonFile(raw, mode="r")
            if self._gzipped:
                stream = pa.CompressedInputStream(stream, "gzip")
            try:
                reader = pa_csv.open_csv(
                    stream,
                    read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_SIZE),
                    convert_options=pa_csv.ConvertOptions(
                        column_types=column_types,
                        include_columns=list(self._include),
                        include_missing_columns=False,
                        strings_can_be_null=strings_can_be_null,
                    ),
                )
            except pa.ArrowInvalid as exc:
                raise self._corrupt(exc) from None  # pyarrow quotes cell values
            yield reader

    def _corrupt(self, exc: Exception) -> ManifestError:
        return ManifestError(
            f"manifest {self.source_name!r} is not readable as CSV{' (gzip)' if self._gzipped else ''}: "
            f"{_sanitise(str(exc))}. Fix the file or pass the right manifest_format"
        )

    @property
    def source_name(self) -> str:
        return self._location.source

    def _header(self) -> list[str]:
        """Column names from the header alone (pyarrow reads just the first block)."""
        with self._reader({}, strings_can_be_null=True) as reader:
            return list(reader.schema.names)

    def _check_text(self) -> None:
        """One pass over the raw text: gzip intact, UTF-8 header, bounded lines, no swallowed lines."""
        source = self.source_name
        kind = "gzip-compressed CSV" if self._gzipped else "CSV"
        try:
            with self._location.open_binary() as raw:
                binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if self._gzipped else raw
                lines = capped_lines(binary)
                first = next(lines, b"")
                try:
                    first.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise ManifestError(
                        f"manifest {source!r}: the header line is not UTF-8 (byte {exc.start + 1} cannot be "
                        "decoded; Latin-1 or Windows-1252?): save the file as UTF-8"
                    ) from exc
                check_csv_quoting(itertools.chain([first], lines))
        except ManifestError:
            raise
        except TextError as exc:
            raise ManifestError(f"manifest {source!r}: {exc}") from None
        except _READ_ERRORS as exc:  # a truncated gzip stream, a plain file named .gz, a read error
            raise ManifestError(
                f"manifest {source!r} is not readable as {kind} ({type(exc).__name__}: {_sanitise(str(exc))}). "
                "Fix the file, or drop the .gz suffix if it is not compressed"
            ) from None  # gzip and pyarrow errors may quote file bytes

    def _scan(self) -> dict[str, pa.DataType]:
        """Validate the whole file, count its rows, infer each carried column's type over all rows."""
        self._check_text()
        try:
            names = self._header()
        except (pa.ArrowInvalid, *_READ_ERRORS) as exc:  # e.g. an empty file
            raise self._corrupt(exc) from None
        _check_columns(self.source_name, names, self.image_column, self.id_column, self.carry_columns, self._named_by)
        _check_unique(self.source_name, names, self._needed)
        self._include = tuple(self._needed)
        inferred = [c for c in self.carry_columns if c not in self._text_columns]
        ruled_out: dict[str, set[int]] = {c: set() for c in inferred}
        seen_value = dict.fromkeys(inferred, False)
        num_rows = 0
        types = {c: pa.string() for c in self._needed}
        with self._reader(types, strings_can_be_null=True) as reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, *_READ_ERRORS) as exc:
                    raise self._corrupt(exc) from None
                num_rows += batch.num_rows
                for column in inferred:
                    values = pc.drop_null(batch.column(column))
                    if len(values) == 0:
                        continue
                    seen_value[column] = True
                    for k, candidate in enumerate(_CSV_CANDIDATES):
                        if k not in ruled_out[column] and not _csv_values_fit(values, candidate):
                            ruled_out[column].add(k)
        result: dict[str, pa.DataType] = {c: pa.string() for c in self.carry_columns}
        for column in inferred:
            if seen_value[column]:
                for k, candidate in enumerate(_CSV_CANDIDATES):
                    if k not in ruled_out[column]:
                        result[column] = candidate
                        break
        self._num_rows = num_rows
        return result

    def _batches(self) -> Iterator[list[ManifestRow]]:
        # pyarrow yields blocks of many rows; only ``batch_rows`` of them become Python objects at a time.
        pending: list[ManifestRow] = []
        start = 0
        column_types = {c: pa.string() for c in self._text_columns}
        column_types.update({f.name: f.type for f in self.carry_fields if f.name not in self._text_columns})
        with self._reader(column_types, strings_can_be_null=False) as reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except pa.ArrowInvalid as exc:
                    raise self._corrupt(exc) from None
                offset = 0
                while offset < batch.num_rows:
                    take = min(self.batch_rows - len(pending), batch.num_rows - offset)
                    pending.extend(self._rows(batch.slice(offset, take), start + offset))
                    offset += take
                    if len(pending) >= self.batch_rows:
                        yield pending
                        pending = []
                start += batch.num_rows
        if pending:
            yield pending


def _csv_values_fit(values: pa.Array, candidate: pa.DataType) -> bool:
    """Whether every (non-null) CSV text value converts to ``candidate`` without loss."""
    if pa.types.is_boolean(candidate):
        return bool(pc.all(pc.is_in(values, pa.array(_CSV_TRUE + _CSV_FALSE))).as_py())
    if pa.types.is_integer(candidate) or pa.types.is_floating(candidate):
        # "007", "018956": codes, not numbers; keep them as text so no zero is lost.
        if pc.any(pc.match_substring_regex(values, r"^[+-]?0\d")).as_py():
            return False
    try:
        pc.cast(values, candidate)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Parquet


class _ParquetManifest(_ArrowManifest):
    format = "parquet"

    def _scan(self) -> dict[str, pa.DataType]:
        source = self._location.source
        with self._open() as pf:
            schema = pf.schema_arrow
            self._num_rows = pf.metadata.num_rows
        _check_columns(source, schema.names, self.image_column, self.id_column, self.carry_columns, self._named_by)
        _check_unique(source, schema.names, self._needed)
        return {c: schema.field(c).type for c in self.carry_columns}

    @contextmanager
    def _open(self) -> Iterator[pq.ParquetFile]:
        with self._location.open_binary() as raw:
            try:
                pf = pq.ParquetFile(raw)
            except (pa.ArrowException, OSError) as exc:
                raise ManifestError(
                    f"manifest {self._location.source!r} is not readable as Parquet: {_sanitise(str(exc))}. "
                    "Fix the file or pass the right manifest_format"
                ) from None
            yield pf

    def _batches(self) -> Iterator[list[ManifestRow]]:
        start = 0
        with self._open() as pf:
            try:
                for batch in pf.iter_batches(batch_size=self.batch_rows, columns=self._needed):
                    rows = self._rows(batch, start)
                    start += batch.num_rows
                    yield rows
            except (pa.ArrowException, OSError) as exc:
                raise ManifestError(
                    f"manifest {self._location.source!r} is not readable as Parquet at row {start}: "
                    f"{_sanitise(str(exc))}"
                ) from None


# --------------------------------------------------------------------------------------------------
# JSON Lines


def _json_kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if _INT64_MIN <= value <= _INT64_MAX else "str"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"  # objects and arrays are carried as their JSON text


def _merge_kinds(kinds: set[str]) -> pa.DataType:
    if not kinds:
        return pa.string()
    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds <= {"int", "float"}:
        return pa.float64()
    return pa.string()


def _coerce(value: Any, typ: pa.DataType) -> Any:
    """A JSON value as a Python value of the carried column's type."""
    if value is None:
        return None
    if pa.types.is_string(typ):
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if pa.types.is_floating(typ):
        return float(value)
    return value


class _JsonlManifest(_FileManifest):
    format = "jsonl"

    def _scan(self) -> dict[str, pa.DataType]:
        kinds: dict[str, set[str]] = {c: set() for c in self.carry_columns}
        found: dict[str, None] = {}
        num_rows = 0
        for obj in self._objects():
            num_rows += 1
            for key in obj:
                if key not in found:
                    found[key] = None
            for column in self.carry_columns:
                kind = _json_kind(obj.get(column))
                if kind is not None:
                    kinds[column].add(kind)
        if num_rows:
            # Keys may vary from line to line: a column counts as present if any line has it.
            source, needed = self._location.source, (self.image_column, self.id_column, self.carry_columns)
            _check_columns(source, list(found), *needed, self._named_by)
        self._num_rows = num_rows
        return {c: _merge_kinds(kinds[c]) for c in self.carry_columns}

    def _objects(self) -> Iterator[dict[str, Any]]:
        source = self._location.source
        with self._location.open_binary() as raw:
            binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if self._gzipped else raw
            line_no = 0
            try:
                for line_no, raw_line in enumerate(capped_lines(binary), start=1):  # noqa: B007
                    try:
                        stripped = raw_line.decode("utf-8-sig" if line_no == 1 else "utf-8").strip()
                    except UnicodeDecodeError as exc:
                        raise ManifestError(
                            f"manifest {source!r} line {line_no} is not UTF-8 (byte {exc.start + 1}): save the "
                            "file as UTF-8"
                        ) from exc
                    if not stripped:
                        continue
                    try:
                        obj = json.loads(stripped)
                    except json.JSONDecodeError as exc:
                        hint = (
                            " (this looks like one JSON array: JSON Lines needs one object per line)"
                            if line_no == 1 and stripped.startswith("[")
                            else ""
                        )
                        raise ManifestError(
                            f"manifest {source!r} is not valid JSON Lines at line {line_no}: {exc.msg} "
                            f"(column {exc.colno}){hint}. Fix the file or pass the right manifest_format"
                        ) from exc
                    except RecursionError:
                        raise ManifestError(
                            f"manifest {source!r} line {line_no} nests arrays or objects too deeply to be read: "
                            "flatten that value (a manifest row needs an image URI and flat columns)"
                        ) from None
                    except ValueError as exc:  # valid JSON Python will not convert, e.g. a 5,000-digit number
                        raise ManifestError(
                            f"manifest {source!r} line {line_no} holds a value that cannot be read "
                            f"({_sanitise(str(exc)).split(';')[0]}): write very long numbers as strings"
                        ) from None
                    if not isinstance(obj, dict):
                        raise ManifestError(
                            f"manifest {source!r} line {line_no} is a JSON {type(obj).__name__}, not an "
                            "object: JSON Lines manifests need one object per line"
                        )
                    yield obj
            except TextError as exc:
                raise ManifestError(f"manifest {source!r}: {exc}") from None
            except _READ_ERRORS as exc:
                raise ManifestError(
                    f"manifest {source!r} is not readable as JSON Lines{' (gzip)' if self._gzipped else ''} "
                    f"at line {line_no + 1}: {type(exc).__name__}: {_sanitise(str(exc))}. Fix the file (UTF-8, "
                    "one object per line), or drop the .gz suffix if it is not compressed"
                ) from None

    def _batches(self) -> Iterator[list[ManifestRow]]:
        carry_types = {f.name: f.type for f in self.carry_fields}
        batch: list[ManifestRow] = []
        for index, obj in enumerate(self._objects()):
            try:
                row = ManifestRow(
                    index=index,
                    record_id=_record_id(obj.get(self.id_column) if self.id_column else None, index, self.id_column),
                    image_uri=_image_uri(obj.get(self.image_column)),
                    carried={c: _coerce(obj.get(c), t) for c, t in carry_types.items()},
                )
            except (RecursionError, ValueError) as exc:  # a value too deep, or too long, to turn into text
                raise ManifestError(
                    f"manifest {self._location.source!r} row {index}: a value of its id, image or carried columns "
                    f"cannot be turned into text ({type(exc).__name__}): flatten it, or write long numbers as strings"
                ) from None
            batch.append(row)
            if len(batch) >= self.batch_rows:
                yield batch
                batch = []
        if batch:
            yield batch


# --------------------------------------------------------------------------------------------------
# In-memory list


class _ListManifest(Manifest):
    format = "list"

    def __init__(self, images: Sequence[str], batch_rows: int) -> None:
        super().__init__("images", [], batch_rows)
        self._images = list(images)

    def iter_batches(self) -> Iterator[list[ManifestRow]]:
        for start in range(0, len(self._images), self.batch_rows):
            chunk = self._images[start : start + self.batch_rows]
            yield [
                ManifestRow(index=start + i, record_id=str(start + i), image_uri=_image_uri(uri), carried={})
                for i, uri in enumerate(chunk)
            ]

    def count_rows(self) -> int:
        return len(self._images)


# --------------------------------------------------------------------------------------------------
# Public entry points


def open_manifest(
    source: str,
    *,
    manifest_format: str | None = None,
    image_column: str = "image_uri",
    id_column: str | None = None,
    carry_columns: Sequence[str] = (),
    batch_rows: int = 5000,
    storage_conn_id: str | None = None,
    named_by: Mapping[str, str] | None = None,
) -> Manifest:
    """Open and validate a manifest; raises :class:`ManifestError` before any image is touched.

    ``named_by`` maps the carried columns an operator argument names (e.g. ``{"kind": "action_column"}``)
    to that argument, so a missing one is reported under the argument the user gave.
    """
    if not source or not str(source).strip():
        raise ManifestError("manifest source is empty: pass a path or URI")
    if isinstance(carry_columns, str):
        raise ManifestError(f"carry_columns must be a list of column names, not the string {carry_columns!r}")
    if batch_rows < 1:
        raise ManifestError(f"batch_rows must be at least 1, got {batch_rows}")
    source = str(source)
    fmt, gzipped = _detect_format(source, manifest_format)
    location = _Location(source, storage_conn_id)
    location.check_exists()
    columns = (image_column, id_column, carry_columns, batch_rows)
    if fmt == "csv":
        return _CsvManifest(location, *columns, gzipped=gzipped, named_by=named_by)
    if fmt == "parquet":
        if gzipped:
            raise ManifestError(
                f"manifest {source!r}: Parquet files are compressed internally and cannot be read "
                "gzipped; decompress it first"
            )
        return _ParquetManifest(location, *columns, named_by=named_by)
    return _JsonlManifest(location, *columns, gzipped=gzipped, named_by=named_by)


def manifest_from_images(images: Sequence[str], *, batch_rows: int = 5000) -> Manifest:
    """A manifest over a list of URIs (the operator's ``images=``): row numbers as ids, nothing carried."""
    if isinstance(images, str):
        raise ManifestError("images must be a list of URIs, not one string")
    if batch_rows < 1:
        raise ManifestError(f"batch_rows must be at least 1, got {batch_rows}")
    return _ListManifest(images, batch_rows)
