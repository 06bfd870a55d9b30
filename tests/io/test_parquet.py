"""Output schema and the atomic Parquet writer, read back with pyarrow, pandas and duckdb."""

from __future__ import annotations

import datetime as dt
import os
import uuid

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_tencent_ocr import __version__
from airflow_provider_tencent_ocr.exceptions import UnwritableRows
from airflow_provider_tencent_ocr.io.parquet import (
    OUTPUT_COLUMNS,
    SCHEMA_VERSION,
    ColumnMetadata,
    ParquetOutputWriter,
    output_schema,
)

# The DESIGN.md contract, written out independently of the code.
EXPECTED: list[tuple[str, pa.DataType]] = [
    ("record_id", pa.string()),
    ("image_uri", pa.string()),
    ("image_sha256", pa.string()),
    ("status", pa.string()),
    ("error_code", pa.string()),
    ("error_message", pa.string()),
    ("request_id", pa.string()),
    ("attempts", pa.int32()),
    ("ch_name", pa.string()),
    ("en_name", pa.string()),
    ("sex", pa.string()),
    ("country_of_birth", pa.string()),
    ("birthday", pa.string()),
    ("address", pa.string()),
    ("id_number", pa.string()),
    ("race", pa.string()),
    ("nric_code", pa.string()),
    ("post_code", pa.string()),
    ("date_of_expiration", pa.string()),
    ("date_of_issue", pa.string()),
    ("photo", pa.binary()),
    ("warn_codes", pa.list_(pa.int32())),
    ("warn_covered", pa.bool_()),
    ("warn_photocopy", pa.bool_()),
    ("warn_photographed", pa.bool_()),
    ("warn_edited", pa.bool_()),
    ("warn_reflective", pa.bool_()),
    ("warn_blurry", pa.bool_()),
    ("warn_not_enabled", pa.bool_()),
    ("ocr_at", pa.timestamp("us", tz="UTC")),
    ("birth_date", pa.date32()),
    ("date_of_issue_date", pa.date32()),
    ("date_of_expiration_date", pa.date32()),
    ("sex_normalised", pa.string()),
    ("id_type", pa.string()),
    ("id_checksum_valid", pa.bool_()),
    ("photo_path", pa.string()),
]
CARRY = [pa.field("branch", pa.string()), pa.field("amount", pa.int64())]
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC)


def _row(i: int, **extra) -> dict:
    row = {
        "record_id": f"{i:03d}",
        "image_uri": f"s3://b/{i}.png",
        "image_sha256": "ab" * 32,
        "status": "ok",
        "attempts": 1,
        "en_name": "SYNTHETIC NAME",
        "photo": b"\x89PNG",
        "warn_codes": [-9101, -9108],
        "warn_covered": True,
        "warn_blurry": True,
        "ocr_at": NOW,
        "birth_date": dt.date(1990, 1, 31),
        "id_checksum_valid": True,
        "branch": f"b{i}",
        "amount": i,
    }
    row.update(extra)
    return row


def _leftovers(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


@pytest.fixture(scope="module")
def memory_fs():
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    return fs


# --------------------------------------------------------------------------------------------------
# Schema


def test_output_columns_match_the_contract_column_by_column():
    schema = output_schema()
    assert OUTPUT_COLUMNS == [name for name, _ in EXPECTED]
    assert schema.names == OUTPUT_COLUMNS
    for (name, typ), field in zip(EXPECTED, schema, strict=True):
        assert (field.name, field.type) == (name, typ)
        assert field.nullable


def test_schema_metadata_and_carried_columns():
    schema = output_schema(CARRY, action="SomeAction", package_version="9.9")
    assert schema.names == [*OUTPUT_COLUMNS, "branch", "amount"]
    assert schema.field("amount").type == pa.int64()
    assert schema.metadata == {
        b"tencent_ocr.schema_version": SCHEMA_VERSION.encode(),
        b"tencent_ocr.action": b"SomeAction",
        b"tencent_ocr.package_version": b"9.9",
    }
    default = output_schema()
    assert default.metadata[b"tencent_ocr.action"] == b"RecognizeSingaporeIDCardOCR"
    assert default.metadata[b"tencent_ocr.package_version"] == __version__.encode()


def test_carried_column_clashing_with_output_column_is_refused():
    with pytest.raises(ValueError, match=r"'status'.*rename them in the manifest or drop them"):
        output_schema([pa.field("status", pa.string()), pa.field("ok_name", pa.string())])
    with pytest.raises(ValueError, match="more than once"):
        output_schema([pa.field("x", pa.string()), pa.field("x", pa.int64())])


# --------------------------------------------------------------------------------------------------
# Writing and reading back


def test_round_trip_with_pyarrow_pandas_and_duckdb(tmp_path):
    target = tmp_path / "deep" / "er" / "out.parquet"  # parent folders are created
    schema = output_schema(CARRY)
    rows = [_row(i) for i in range(7)] + [{"record_id": "err", "status": "error", "error_code": "ImageNotFound"}]
    with ParquetOutputWriter(str(target), schema, row_group_rows=3) as writer:
        writer.write_rows(rows[:2])
        writer.write_rows(rows[2:])
        assert not target.exists()  # nothing is visible before the commit
    assert writer.rows_written == 8

    pf = pq.ParquetFile(target)
    assert pf.metadata.num_rows == 8
    assert pf.metadata.num_row_groups == 3  # 3 + 3 + 2
    assert pf.schema_arrow.equals(schema)  # string, not large_string; explicit types kept
    assert pf.schema_arrow.metadata[b"tencent_ocr.schema_version"] == b"1"
    table = pq.read_table(target)
    assert table.column("record_id").to_pylist() == [f"{i:03d}" for i in range(7)] + ["err"]
    last = table.slice(7).to_pylist()[0]
    assert last["error_code"] == "ImageNotFound" and last["warn_codes"] is None and last["attempts"] is None
    assert table.column("ocr_at").to_pylist()[0] == NOW

    frame = pd.read_parquet(target)
    assert list(frame.columns) == schema.names
    assert frame["amount"].iloc[3] == 3
    assert frame["ocr_at"].iloc[0] == pd.Timestamp(NOW)

    con = duckdb.connect()
    result = con.execute(
        "select count(*), sum(amount), min(birth_date), any_value(warn_codes), "
        "count(*) filter (where status = 'error') from read_parquet(?)",
        [str(target)],
    ).fetchone()
    assert result == (8, 21, dt.date(1990, 1, 31), [-9101, -9108], 1)
    types = dict(
        con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))", [str(target)]
        ).fetchall()
    )
    assert types["ocr_at"] == "TIMESTAMP WITH TIME ZONE" and types["attempts"] == "INTEGER"
    assert types["record_id"] == "VARCHAR" and types["photo"] == "BLOB"
    assert _leftovers(target.parent) == []


def test_empty_output_is_a_valid_file_with_the_full_schema(tmp_path):
    target = tmp_path / "empty.parquet"
    schema = output_schema(CARRY)
    with ParquetOutputWriter(str(target), schema):
        pass
    assert pq.read_schema(target).equals(schema)
    assert pq.read_table(target).num_rows == 0
    assert len(pd.read_parquet(target).columns) == len(schema)
    assert duckdb.connect().execute("select count(*) from read_parquet(?)", [str(target)]).fetchone() == (0,)


def test_unknown_keys_are_refused_without_values(tmp_path):
    with ParquetOutputWriter(str(tmp_path / "x.parquet"), output_schema()) as writer:
        with pytest.raises(ValueError, match="'typo_column'") as info:
            writer.write_rows([{"record_id": "1", "typo_column": "S1234567D"}])
        assert "S1234567D" not in str(info.value)
        writer.abort()


def test_rows_arrow_refuses_are_named_and_nothing_of_their_batch_is_kept(tmp_path):
    target = tmp_path / "x.parquet"
    with ParquetOutputWriter(str(target), output_schema(), row_group_rows=2) as writer:
        writer.write_rows([{"record_id": "0"}])
        batch = [
            {"record_id": "1", "id_number": "S1234567D"},
            {"record_id": "2", "attempts": 2**40},  # does not fit int32
            {"record_id": "3", "en_name": "A\ud800B"},  # not encodable as UTF-8
            {"record_id": "4", "warn_codes": "S7654321Z"},  # not a list
        ]
        with pytest.raises(UnwritableRows) as info:
            writer.write_rows(batch)
        assert info.value.indices == (1, 2, 3)
        assert "S7654321Z" not in str(info.value) and "A\ud800B" not in str(info.value)  # no values
        assert writer.rows_received == 1  # all or none
        writer.write_rows([batch[0], {"record_id": "2"}, {"record_id": "3"}, {"record_id": "4"}])
        assert writer.rows_received == 5
    table = pq.read_table(target)
    assert table.column("record_id").to_pylist() == ["0", "1", "2", "3", "4"]
    assert pq.ParquetFile(target).metadata.num_row_groups == 3  # row groups of row_group_rows across batches


def test_rerun_replaces_the_file(tmp_path):
    target = tmp_path / "out.parquet"
    schema = output_schema()
    for n in (5, 2):
        with ParquetOutputWriter(str(target), schema) as writer:
            writer.write_rows([{"record_id": str(i), "status": "ok"} for i in range(n)])
    assert pq.read_table(target).num_rows == 2
    assert _leftovers(tmp_path) == []


def test_file_uri_target(tmp_path):
    target = tmp_path / "a dir" / "out.parquet"
    with ParquetOutputWriter(target.as_uri(), output_schema()) as writer:
        writer.write_rows([{"record_id": "1"}])
    assert pq.read_table(target).column("record_id").to_pylist() == ["1"]


# --------------------------------------------------------------------------------------------------
# Atomicity


def test_exception_inside_with_keeps_previous_output_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out.parquet"
    schema = output_schema()
    with ParquetOutputWriter(str(target), schema) as writer:
        writer.write_rows([{"record_id": "old"}])
    before = target.read_bytes()

    with pytest.raises(RuntimeError, match="boom"):
        with ParquetOutputWriter(str(target), schema, row_group_rows=2) as writer:
            writer.write_rows([{"record_id": str(i)} for i in range(5)])  # row groups already on disk
            assert len(_leftovers(tmp_path)) == 1
            raise RuntimeError("boom")
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []
    with pytest.raises(RuntimeError, match="aborted"):
        writer.write_rows([{"record_id": "late"}])


def test_abort_keeps_previous_output_and_is_idempotent(tmp_path):
    target = tmp_path / "out.parquet"
    schema = output_schema()
    with ParquetOutputWriter(str(target), schema) as writer:
        writer.write_rows([{"record_id": "old"}])
    writer = ParquetOutputWriter(str(target), schema, row_group_rows=1)
    writer.write_rows([{"record_id": "new"}, {"record_id": "newer"}])
    writer.abort()
    writer.abort()
    with pytest.raises(RuntimeError):
        writer.commit()
    assert pq.read_table(target).column("record_id").to_pylist() == ["old"]
    assert _leftovers(tmp_path) == []


def test_abort_before_any_write_creates_nothing(tmp_path):
    target = tmp_path / "never" / "out.parquet"
    with ParquetOutputWriter(str(target), output_schema()) as writer:
        writer.abort()
    assert not target.exists()


def test_commit_twice_is_an_error(tmp_path):
    writer = ParquetOutputWriter(str(tmp_path / "o.parquet"), output_schema())
    writer.commit()
    with pytest.raises(RuntimeError, match="committed"):
        writer.commit()
    writer.abort()  # no effect after a commit
    assert (tmp_path / "o.parquet").exists()


# --------------------------------------------------------------------------------------------------
# Object storage


def test_object_storage_target(memory_fs):
    bucket = f"memory://out-{uuid.uuid4().hex}"
    uri = f"{bucket}/runs/out.parquet"
    schema = output_schema(CARRY)
    with ParquetOutputWriter(uri, schema, row_group_rows=2) as writer:
        writer.write_rows([_row(i) for i in range(5)])
        assert not memory_fs.exists(uri)  # the object appears only on commit
        temp_path = writer._temp.path
    assert temp_path is not None and not os.path.exists(temp_path)
    table = pq.read_table(pa.BufferReader(memory_fs.cat(uri)))
    assert table.schema.equals(schema) and table.num_rows == 5

    before = memory_fs.cat(uri)
    with pytest.raises(KeyError):
        with ParquetOutputWriter(uri, schema, row_group_rows=1) as writer:
            writer.write_rows([_row(9), _row(10)])
            temp_path = writer._temp.path
            raise KeyError("stop")
    assert memory_fs.cat(uri) == before
    assert not os.path.exists(temp_path)

    empty = f"{bucket}/runs/empty.parquet"
    with ParquetOutputWriter(empty, schema):
        pass
    assert pq.read_table(pa.BufferReader(memory_fs.cat(empty))).num_rows == 0


@pytest.mark.parametrize("where", ["local", "object storage"])
def test_metadata_made_at_commit_from_a_columns_values(tmp_path, memory_fs, where):
    """Metadata known only at the end (the actions of a mixed run) is in the file's footer and its Arrow schema."""
    from airflow_provider_tencent_ocr.rows import id_document

    uri = str(tmp_path / "out.parquet") if where == "local" else f"memory://out-{uuid.uuid4().hex}/out.parquet"
    schema = id_document.output_schema()
    late = ColumnMetadata("action", id_document.schema_metadata)
    with ParquetOutputWriter(uri, schema, row_group_rows=2, metadata_at_commit=late) as writer:
        rows = ["MLIDCardOCR", "RecognizeThaiIDCardOCR", None, "NoSuchOCR", "MLIDCardOCR"]
        writer.write_rows([{"record_id": str(i), "action": action} for i, action in enumerate(rows)])
    data = pa.BufferReader(memory_fs.cat(uri)) if where == "object storage" else uri
    footer = pq.read_metadata(data).metadata
    assert footer[b"tencent_ocr.actions"] == b"MLIDCardOCR,RecognizeThaiIDCardOCR"  # served actions, sorted
    arrow = pq.read_schema(data).metadata  # what pyarrow, pandas and Spark readers see
    assert arrow[b"tencent_ocr.actions"] == b"MLIDCardOCR,RecognizeThaiIDCardOCR"
    assert {k: v for k, v in arrow.items() if k != b"tencent_ocr.actions"} == {
        k: v for k, v in schema.metadata.items() if k != b"tencent_ocr.actions"
    }
    assert pq.read_table(data).num_rows == 5
