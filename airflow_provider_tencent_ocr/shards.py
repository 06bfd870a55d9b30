"""Sharded runs: one manifest split into contiguous slices, one Parquet part file per slice.

Mapped task instances (``.partial(shard_count=N, ...).expand(shard_index=range(N))``) each take
rows ``[i*n//N, (i+1)*n//N)`` of the manifest and write ``<folder>/part-0000i-of-0000N.parquet``
with the same schema, so ``<folder>/*.parquet`` reads as one dataset and every manifest row lands
in exactly one part. Rows keep their global row number (and so their default ``record_id``).
:func:`check_parts` is what the task that publishes the dataset's Asset event runs: it proves
every part is there and the parts add up to the manifest. No Airflow import here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_tencent_ocr.exceptions import PartsIncomplete
from airflow_provider_tencent_ocr.io.manifest import Manifest, ManifestRow
from airflow_provider_tencent_ocr.io.uris import redact_uri

__all__ = [
    "PartsIncomplete",
    "ShardManifest",
    "check_parts",
    "parse_shard",
    "part_name",
    "part_uri",
    "shard_bounds",
    "shard_cache_uri",
]

PART_GLOB = "part-*-of-*.parquet"
_PART_RE = re.compile(r"^part-(\d{5,})-of-(\d{5,})\.parquet$")


def parse_shard(shard_index: Any, shard_count: Any) -> tuple[int, int]:
    """``(index, count)`` as ints from (possibly templated, hence text) arguments; a clear error otherwise."""
    try:
        index, count = int(str(shard_index).strip()), int(str(shard_count).strip())
    except ValueError:
        raise ValueError(
            f"shard_index and shard_count must be whole numbers, got {shard_index!r} and {shard_count!r}"
        ) from None
    if count < 1:
        raise ValueError(f"shard_count must be at least 1, got {count}")
    if not 0 <= index < count:
        raise ValueError(f"shard_index must be in 0..{count - 1} for shard_count={count}, got {index}")
    return index, count


def shard_bounds(total: int, index: int, count: int) -> tuple[int, int]:
    """The contiguous row range ``[start, stop)`` of shard ``index``; sizes differ by at most one row."""
    return total * index // count, total * (index + 1) // count


def part_name(index: int, count: int) -> str:
    """``part-00003-of-00008.parquet``: sorts in manifest order and names the run's shard count."""
    return f"part-{index:05d}-of-{count:05d}.parquet"


def _folder(folder: str) -> str:
    return folder.rstrip("/") or "/"


def part_uri(folder: str, index: int, count: int) -> str:
    """Where shard ``index`` of ``count`` writes inside the dataset folder."""
    return posixpath.join(_folder(folder), part_name(index, count))


def shard_cache_uri(folder: str) -> str:
    """Default result cache of every shard of ``folder``: one shared cache beside the folder, not in it.

    The cache is safe for concurrent writers, so all parts share it (an image in two slices is paid
    once), and the dataset's glob never meets its files (raw results, i.e. personal data).
    """
    from airflow_provider_tencent_ocr.io.cache import default_cache_uri

    return default_cache_uri(_folder(folder))


class ShardManifest(Manifest):
    """A view of rows ``[start, stop)`` of another manifest; rows keep their global index and record id."""

    def __init__(self, inner: Manifest, index: int, count: int) -> None:
        super().__init__(inner.source, inner.carry_fields, inner.batch_rows)
        self.format = inner.format
        self.inner = inner
        self.index, self.count = index, count
        self.total = inner.count_rows()
        self.start, self.stop = shard_bounds(self.total, index, count)

    def iter_batches(self) -> Iterator[list[ManifestRow]]:
        """The slice, re-chunked to ``batch_rows``; reading stops once the slice is passed."""
        pending: list[ManifestRow] = []
        for batch in self.inner.iter_batches():
            if not batch or batch[-1].index < self.start:
                continue
            pending.extend(row for row in batch if self.start <= row.index < self.stop)
            while len(pending) >= self.batch_rows:
                yield pending[: self.batch_rows]
                pending = pending[self.batch_rows :]
            if batch[-1].index >= self.stop - 1:
                break
        if pending:
            yield pending

    def count_rows(self) -> int:
        return self.stop - self.start

    def __repr__(self) -> str:
        return f"ShardManifest(source={self.source!r}, shard={self.index}/{self.count}, rows={self.start}..{self.stop})"


@dataclass(frozen=True)
class _Part:
    name: str
    rows: int
    ok: int


def _part_names(folder: str, storage_conn_id: str | None) -> list[str]:
    """Names of the files directly in ``folder`` (local or object storage), through the storage adapter."""
    from airflow_provider_tencent_ocr.io import storage

    prefix = _folder(folder).rstrip("/") + "/"
    names = (uri[len(prefix) :] for uri in storage.list_files(folder, conn_id=storage_conn_id))
    return sorted(name for name in names if "/" not in name)


def _read_part(uri: str, storage_conn_id: str | None) -> _Part:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from airflow_provider_tencent_ocr.io import storage

    with storage.open_read(uri, conn_id=storage_conn_id) as handle:
        status = pq.ParquetFile(handle).read(columns=["status"]).column("status")
    return _Part(posixpath.basename(uri), len(status), int(pc.sum(pc.equal(status, "ok")).as_py() or 0))


def check_parts(
    folder: str,
    shard_count: int,
    *,
    expected_rows: int | None = None,
    storage_conn_id: str | None = None,
) -> dict[str, Any]:
    """Prove ``folder`` holds exactly the ``shard_count`` parts of one run, adding up to the manifest.

    Raises :class:`PartsIncomplete` naming the missing, foreign (another shard count) or short
    parts. Returns counts only (no personal data), for XCom and the Asset event's ``extra``.
    """
    names = _part_names(folder, storage_conn_id)
    found = {name: _PART_RE.match(name) for name in names}
    parts = {name for name, m in found.items() if m and int(m.group(2)) == shard_count}
    foreign = sorted(name for name, m in found.items() if m and int(m.group(2)) != shard_count)
    missing = [part_name(i, shard_count) for i in range(shard_count) if part_name(i, shard_count) not in parts]
    if missing or foreign:
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {shard_count} parts missing (first: {missing[0]})")
        if foreign:
            problems.append(
                f"{len(foreign)} parts of a run with another shard count (first: {foreign[0]}); "
                "remove them or write to a fresh folder"
            )
        raise PartsIncomplete(f"dataset folder {redact_uri(folder)}: " + "; ".join(problems))
    read = [_read_part(part_uri(folder, i, shard_count), storage_conn_id) for i in range(shard_count)]
    rows = sum(p.rows for p in read)
    if expected_rows is not None:
        short = [
            (p.name, p.rows, stop - start)
            for i, p in enumerate(read)
            for start, stop in [shard_bounds(expected_rows, i, shard_count)]
            if p.rows != stop - start
        ]
        if short:
            name, got, want = short[0]
            raise PartsIncomplete(
                f"dataset folder {redact_uri(folder)}: parts hold {rows} rows, the manifest {expected_rows}; "
                f"{len(short)} parts differ from their slice (first: {name} has {got} rows, its slice {want})"
            )
    ok = sum(p.ok for p in read)
    return {
        "folder": folder,
        "parts": shard_count,
        "rows": rows,
        "ok": ok,
        "errors": rows - ok,
        "glob": posixpath.join(_folder(folder), PART_GLOB),
    }
