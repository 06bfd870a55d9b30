"""Manifest reading: formats, URIs, validation messages, inferred types, bounded streaming; adversarial manifests."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import tracemalloc
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import in_thread

from airflow_provider_tencent_ocr.io.manifest import (
    MAX_LINE_BYTES,
    Manifest,
    ManifestError,
    ManifestRow,
    manifest_from_images,
    open_manifest,
)


@pytest.fixture(scope="module")
def memory_fs():
    """fsspec's in-memory filesystem, attached to Airflow's ObjectStoragePath as ``memory://``."""
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    return fs


def _all_rows(manifest: Manifest) -> list[ManifestRow]:
    return [row for batch in manifest.iter_batches() for row in batch]


CSV_TEXT = (
    "id,image_uri,branch,amount,score,flag,day,note\n"
    "007,a.png,018956,1,1.5,true,2020-01-01,x\n"
    "008,,018957,2,2,false,2020-01-02,\n"
    "009,c.png,5,3,,true,,NA\n"
)


# --------------------------------------------------------------------------------------------------
# CSV


def test_csv_ids_and_uris_stay_text_and_rows_keep_order(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(CSV_TEXT)
    manifest = open_manifest(str(path), id_column="id", batch_rows=2)
    batches = list(manifest.iter_batches())
    assert [len(b) for b in batches] == [2, 1]
    rows = [r for b in batches for r in b]
    assert [r.index for r in rows] == [0, 1, 2]
    assert [r.record_id for r in rows] == ["007", "008", "009"]
    # A blank image cell stays as given: the runner turns it into an InvalidManifestRow error row.
    assert [r.image_uri for r in rows] == ["a.png", "", "c.png"]
    assert all(r.carried == {} for r in rows)
    assert manifest.count_rows() == 3
    assert manifest.source == str(path)
    assert manifest.carry_fields == []


def test_csv_without_id_column_uses_row_numbers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(CSV_TEXT)
    rows = _all_rows(open_manifest(str(path)))
    assert [r.record_id for r in rows] == ["0", "1", "2"]


def test_csv_carried_types_are_inferred_and_leading_zeros_kept(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(CSV_TEXT)
    carry = ["branch", "amount", "score", "flag", "day", "note"]
    manifest = open_manifest(str(path), id_column="id", carry_columns=carry)
    assert [(f.name, f.type) for f in manifest.carry_fields] == [
        ("branch", pa.string()),  # "018956" is a code: no zero may be lost
        ("amount", pa.int64()),
        ("score", pa.float64()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("note", pa.string()),
    ]
    rows = _all_rows(manifest)
    assert rows[0].carried == {
        "branch": "018956",
        "amount": 1,
        "score": 1.5,
        "flag": True,
        "day": dt.date(2020, 1, 1),
        "note": "x",
    }
    assert rows[2].carried["score"] is None and rows[2].carried["day"] is None
    # The carried values fit the carried types (the writer builds the table with them).
    pa.Table.from_pylist([r.carried for r in rows], schema=pa.schema(manifest.carry_fields))


def test_csv_type_inference_covers_the_whole_file_not_the_first_block(tmp_path):
    # 100k integers, then one text value far beyond pyarrow's first 1 MiB block.
    path = tmp_path / "late.csv"
    with path.open("w") as fh:
        fh.write("image_uri,code\n")
        for i in range(100_000):
            fh.write(f"img{i}.png,{i + 1}\n")
        fh.write("last.png,X12\n")
    small = open_manifest(str(path), carry_columns=["code"], batch_rows=7)
    large = open_manifest(str(path), carry_columns=["code"], batch_rows=50_000)
    assert small.carry_fields == large.carry_fields == [pa.field("code", pa.string())]
    rows = _all_rows(large)
    assert rows[0].carried == {"code": "1"} and rows[-1].carried == {"code": "X12"}


def test_csv_gzip_and_format_override(tmp_path):
    gz = tmp_path / "m.csv.gz"
    gz.write_bytes(gzip.compress(CSV_TEXT.encode()))
    assert [r.record_id for r in _all_rows(open_manifest(str(gz), id_column="id"))] == ["007", "008", "009"]
    txt = tmp_path / "manifest.txt"
    txt.write_text(CSV_TEXT)
    with pytest.raises(ManifestError, match="cannot tell the format"):
        open_manifest(str(txt))
    assert open_manifest(str(txt), manifest_format="csv").count_rows() == 3


def test_csv_with_bom_and_id_equal_to_image_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffimage_uri\nx.png\n".encode())
    rows = _all_rows(open_manifest(str(path), id_column="image_uri", carry_columns=["image_uri"]))
    assert rows == [ManifestRow(0, "x.png", "x.png", {"image_uri": "x.png"})]


def test_header_only_csv_is_an_empty_manifest(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,image_uri,branch\n")
    manifest = open_manifest(str(path), id_column="id", carry_columns=["branch"])
    assert list(manifest.iter_batches()) == []
    assert manifest.count_rows() == 0
    assert manifest.carry_fields == [pa.field("branch", pa.string())]


def test_zero_byte_csv_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "nothing.csv"
    path.write_bytes(b"")
    with pytest.raises(ManifestError, match=r"nothing\.csv.*CSV"):
        open_manifest(str(path))


def test_ragged_csv_fails_at_open_naming_file_and_format_without_cell_values(tmp_path):
    path = tmp_path / "ragged.csv"
    lines = ["image_uri,name"] + [f"img{i}.png,n{i}" for i in range(50_000)] + ["broken.png,TAN AH KOW,extra"]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError) as info:
        open_manifest(str(path))
    message = str(info.value)
    assert str(path) in message and "CSV" in message and "Expected 2 columns" in message
    assert "TAN AH KOW" not in message  # cells can be personal data


# --------------------------------------------------------------------------------------------------
# Column validation (all formats)


def _write_all_formats(tmp_path, rows: list[dict]) -> list[str]:
    table = pa.Table.from_pylist(rows)
    csv_path = tmp_path / "m.csv"
    import pyarrow.csv as pa_csv

    pa_csv.write_csv(table, str(csv_path))
    pq_path = tmp_path / "m.parquet"
    pq.write_table(table, str(pq_path))
    jl_path = tmp_path / "m.jsonl"
    jl_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return [str(csv_path), str(pq_path), str(jl_path)]


@pytest.mark.parametrize("fmt", [0, 1, 2], ids=["csv", "parquet", "jsonl"])
def test_missing_image_column_names_file_and_found_columns(tmp_path, fmt):
    source = _write_all_formats(tmp_path, [{"ref": "a", "path": "x.png"}])[fmt]
    with pytest.raises(ManifestError) as info:
        open_manifest(source)
    message = str(info.value)
    assert source in message
    assert "'image_uri'" in message and "'ref'" in message and "'path'" in message
    assert "image_column" in message


@pytest.mark.parametrize("fmt", [0, 1, 2], ids=["csv", "parquet", "jsonl"])
def test_missing_id_and_carry_columns_name_file_and_found_columns(tmp_path, fmt):
    source = _write_all_formats(tmp_path, [{"ref": "a", "image_uri": "x.png"}])[fmt]
    with pytest.raises(ManifestError, match=r"id column 'nric'.*'ref', 'image_uri'") as info:
        open_manifest(source, id_column="nric")
    assert source in str(info.value)
    with pytest.raises(ManifestError, match=r"carried column\(s\) 'branch', 'team'.*'ref', 'image_uri'"):
        open_manifest(source, carry_columns=["ref", "branch", "team"])


def test_near_miss_column_names_are_pointed_out(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("ID, Image_URI \n1,a.png\n")
    with pytest.raises(ManifestError, match=r"Did you mean ' Image_URI ' for 'image_uri'\?"):
        open_manifest(str(path))


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(ManifestError, match="nope.csv.*does not exist"):
        open_manifest(str(missing))
    with pytest.raises(ManifestError, match="does not exist"):
        open_manifest(missing.as_uri())


def test_bad_arguments(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(CSV_TEXT)
    with pytest.raises(ManifestError, match="batch_rows"):
        open_manifest(str(path), batch_rows=0)
    with pytest.raises(ManifestError, match="list of column names"):
        open_manifest(str(path), carry_columns="branch")
    with pytest.raises(ManifestError, match="unknown manifest_format"):
        open_manifest(str(path), manifest_format="xlsx")
    with pytest.raises(ManifestError, match="directory"):
        open_manifest(str(tmp_path), manifest_format="csv")


# --------------------------------------------------------------------------------------------------
# Parquet


def test_parquet_keeps_arrow_types_and_stringifies_ids(tmp_path):
    path = tmp_path / "m.parquet"
    table = pa.table(
        {
            "id": pa.array([7, 8, None], pa.int64()),
            "image_uri": pa.array(["a.png", None, " "], pa.string()),
            "amount": pa.array([1.5, None, 3.0], pa.float32()),
            "tags": pa.array([["a"], [], None], pa.list_(pa.string())),
            "when": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("ms", tz="UTC")),
            "unused": pa.array(["x", "y", "z"]),
        }
    )
    pq.write_table(table, str(path), row_group_size=2)
    manifest = open_manifest(str(path), id_column="id", carry_columns=["amount", "tags", "when"], batch_rows=2)
    assert manifest.count_rows() == 3
    assert [(f.name, f.type) for f in manifest.carry_fields] == [
        ("amount", pa.float32()),
        ("tags", pa.list_(pa.string())),
        ("when", pa.timestamp("ms", tz="UTC")),
    ]
    rows = _all_rows(manifest)
    assert [r.record_id for r in rows] == ["7", "8", ""]
    assert [r.image_uri for r in rows] == ["a.png", None, " "]
    assert rows[0].carried["tags"] == ["a"] and rows[1].carried["amount"] is None
    assert all(len(b) <= 2 for b in manifest.iter_batches())


def test_empty_parquet(tmp_path):
    path = tmp_path / "empty.pq"
    pq.write_table(pa.table({"image_uri": pa.array([], pa.string()), "n": pa.array([], pa.int16())}), str(path))
    manifest = open_manifest(str(path), carry_columns=["n"])
    assert manifest.count_rows() == 0
    assert list(manifest.iter_batches()) == []
    assert manifest.carry_fields == [pa.field("n", pa.int16())]


def test_corrupt_parquet_names_file_and_format(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(ManifestError, match=r"bad\.parquet.*not readable as Parquet"):
        open_manifest(str(path))
    gz = tmp_path / "m.parquet.gz"
    gz.write_bytes(b"x")
    with pytest.raises(ManifestError, match="decompress"):
        open_manifest(str(gz))


# --------------------------------------------------------------------------------------------------
# JSON Lines


@pytest.mark.parametrize("name", ["m.jsonl", "m.ndjson", "m.json", "m.jsonl.gz"])
def test_jsonl_variants(tmp_path, name):
    lines = [
        {"id": 7, "image_uri": "a.png", "n": 1, "x": 1, "mixed": "a", "obj": {"k": 1}, "ok": True},
        {"id": "008", "image_uri": None, "n": 2, "x": 2.5, "mixed": 3, "ok": False},
        {"id": "009", "n": None, "x": None, "mixed": None, "obj": [1, 2]},
    ]
    text = "\n".join(json.dumps(line) for line in lines[:2]) + "\n\n" + json.dumps(lines[2]) + "\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    carry = ["n", "x", "mixed", "obj", "ok"]
    manifest = open_manifest(str(path), id_column="id", carry_columns=carry, batch_rows=2)
    assert manifest.count_rows() == 3
    assert [(f.name, f.type) for f in manifest.carry_fields] == [
        ("n", pa.int64()),
        ("x", pa.float64()),
        ("mixed", pa.string()),
        ("obj", pa.string()),
        ("ok", pa.bool_()),
    ]
    batches = list(manifest.iter_batches())
    assert [len(b) for b in batches] == [2, 1]
    rows = [r for b in batches for r in b]
    assert [r.record_id for r in rows] == ["7", "008", "009"]
    assert [r.image_uri for r in rows] == ["a.png", None, None]
    assert rows[0].carried == {"n": 1, "x": 1.0, "mixed": "a", "obj": '{"k": 1}', "ok": True}
    assert rows[1].carried["mixed"] == "3"
    assert rows[2].carried == {"n": None, "x": None, "mixed": None, "obj": "[1, 2]", "ok": None}
    pa.Table.from_pylist([r.carried for r in rows], schema=pa.schema(manifest.carry_fields))


def test_jsonl_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"image_uri": "a.png"}\n{"image_uri": "b.png", \n')
    with pytest.raises(ManifestError, match=r"bad\.jsonl.*JSON Lines at line 2"):
        open_manifest(str(path))
    array = tmp_path / "array.json"
    array.write_text('[{"image_uri": "a.png"},\n {"image_uri": "b.png"}]\n')
    with pytest.raises(ManifestError, match="one JSON array"):
        open_manifest(str(array))
    scalar = tmp_path / "scalar.jsonl"
    scalar.write_text('"a.png"\n')
    with pytest.raises(ManifestError, match="line 1 is a JSON str, not an object"):
        open_manifest(str(scalar))


def test_empty_jsonl_is_an_empty_manifest(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    manifest = open_manifest(str(path), id_column="id", carry_columns=["branch"])
    assert manifest.count_rows() == 0 and list(manifest.iter_batches()) == []
    assert manifest.carry_fields == [pa.field("branch", pa.string())]


# --------------------------------------------------------------------------------------------------
# URIs


def test_file_uri(tmp_path):
    folder = tmp_path / "with space"
    folder.mkdir()
    path = folder / "m.csv"
    path.write_text(CSV_TEXT)
    manifest = open_manifest(path.as_uri(), id_column="id")
    assert manifest.source == path.as_uri()
    assert [r.record_id for r in _all_rows(manifest)] == ["007", "008", "009"]


def test_object_storage_memory_uri(memory_fs):
    bucket = f"memory://manifests-{uuid.uuid4().hex}"
    memory_fs.pipe(f"{bucket}/in/m.csv", CSV_TEXT.encode())
    manifest = open_manifest(f"{bucket}/in/m.csv", id_column="id", carry_columns=["amount"])
    assert [r.carried["amount"] for r in _all_rows(manifest)] == [1, 2, 3]

    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"image_uri": ["s3-ish.png"], "k": [1]}), sink)
    memory_fs.pipe(f"{bucket}/in/m.parquet", sink.getvalue().to_pybytes())
    parquet = open_manifest(f"{bucket}/in/m.parquet", carry_columns=["k"])
    assert parquet.count_rows() == 1 and _all_rows(parquet)[0].carried == {"k": 1}

    memory_fs.pipe(f"{bucket}/in/m.jsonl.gz", gzip.compress(b'{"image_uri": "j.png"}\n'))
    assert _all_rows(open_manifest(f"{bucket}/in/m.jsonl.gz"))[0].image_uri == "j.png"

    with pytest.raises(ManifestError, match="does not exist"):
        open_manifest(f"{bucket}/in/missing.csv")


def test_unregistered_scheme_says_what_to_install():
    with pytest.raises(ManifestError, match="install the Airflow provider"):
        open_manifest("nosuchscheme://bucket/m.csv")


# --------------------------------------------------------------------------------------------------
# In-memory list and streaming


def test_manifest_from_images():
    manifest = manifest_from_images(["a.png", "", None, "d.png"], batch_rows=3)
    batches = list(manifest.iter_batches())
    assert [len(b) for b in batches] == [3, 1]
    rows = [r for b in batches for r in b]
    assert [(r.index, r.record_id, r.image_uri, r.carried) for r in rows] == [
        (0, "0", "a.png", {}),
        (1, "1", "", {}),
        (2, "2", None, {}),
        (3, "3", "d.png", {}),
    ]
    assert manifest.count_rows() == 4 and manifest.carry_fields == []
    assert list(manifest_from_images([]).iter_batches()) == []
    with pytest.raises(ManifestError):
        manifest_from_images("a.png")


def test_streaming_50k_rows_in_bounded_batches(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("id,image_uri,branch,amount\n")
        for i in range(50_000):
            fh.write(f"{i:07d},s3://bucket/images/{i:07d}.png,b{i % 97},{i}\n")
    manifest = open_manifest(str(path), id_column="id", carry_columns=["branch", "amount"], batch_rows=1000)
    assert manifest.count_rows() == 50_000

    tracemalloc.start()
    try:
        expected = 0
        sizes = []
        for batch in manifest.iter_batches():
            sizes.append(len(batch))
            assert [r.index for r in batch] == list(range(expected, expected + len(batch)))
            expected += len(batch)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert expected == 50_000
    assert max(sizes) == 1000 and len(sizes) == 50
    # Python memory held while streaming stays far below what all 50k rows would take (> 20 MB).
    assert peak < 8 * 1024 * 1024, peak


# -- adversarial manifests -------------------------------------------------------------------------
# Adversarial manifests (issue 10): no silently lost rows, no hang, and every error names the file.


def _ids(path, **kwargs) -> list[str]:
    manifest = open_manifest(str(path), id_column="record_id", **kwargs)
    return [row.record_id for batch in manifest.iter_batches() for row in batch]


def _write(path, text: str | bytes):
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# -- quoting that swallows lines ---------------------------------------------------------------


def test_a_quote_that_swallows_rows_fails_naming_the_file_and_line(tmp_path):
    # The example: pyarrow alone reads 3 rows (a, b, e) for 5 data lines, without an error.
    path = _write(tmp_path / "m.csv", 'record_id,image_uri,note\na,I0,fine\nb,I1,"oops\nc,I2,x\nd,I0,y"\ne,I1,z\n')
    with pytest.raises(ManifestError) as info:
        _ids(path)
    message = str(info.value)
    assert str(path) in message and "line 3" in message and "line 5" in message
    assert "oops" not in message  # cell values may be personal data


@pytest.mark.parametrize("gz", [False, True])
def test_an_unclosed_quote_fails_naming_the_line(tmp_path, gz):
    text = 'record_id,image_uri,note\na,I0,fine\nb,I1,x\nc,I2,"never closed\nd,I0,y\n'
    path = tmp_path / ("m.csv.gz" if gz else "m.csv")
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    with pytest.raises(ManifestError, match=r"line 4 is never closed"):
        _ids(path)


def test_an_unclosed_quote_in_the_last_line_fails(tmp_path):
    path = _write(tmp_path / "m.csv", 'record_id,image_uri\na,I0\nb,"I1\n')
    with pytest.raises(ManifestError, match="line 3"):
        _ids(path)


def test_legitimate_quoting_keeps_every_row(tmp_path):
    text = (
        "record_id,image_uri,note\n"
        'a,I0,"1 EXAMPLE ROAD\n#01-01 SINGAPORE"\n'  # a quoted line break inside one value
        'b,I1,"say ""hi"", twice"\n'  # doubled quotes and a delimiter inside quotes
        'c,I2,fi"ne\n'  # a quote in the middle of a value is a plain character
        '"d","I0","x"\n'  # everything quoted
        'e,I1,"two\nline, break"\n'  # a continuation line with fewer delimiters than a row
    )
    path = _write(tmp_path / "m.csv", text)
    manifest = open_manifest(str(path), id_column="record_id", carry_columns=["note"])
    rows = [row for batch in manifest.iter_batches() for row in batch]
    assert [r.record_id for r in rows] == ["a", "b", "c", "d", "e"]
    assert rows[0].carried["note"] == "1 EXAMPLE ROAD\n#01-01 SINGAPORE"
    assert rows[1].carried["note"] == 'say "hi", twice'
    assert manifest.count_rows() == 5


def test_many_quoted_rows_across_batches_are_all_kept(tmp_path):
    lines = ["record_id,image_uri,note"] + [f'"r{i}","I{i % 3}","n ""{i}"""' for i in range(3000)]
    path = _write(tmp_path / "m.csv", "\n".join(lines) + "\n")
    assert _ids(path, batch_rows=700) == [f"r{i}" for i in range(3000)]


# -- files that are not what they claim --------------------------------------------------------


def test_truncated_gzip_names_the_file(tmp_path):
    data = gzip.compress(("record_id,image_uri\n" + "".join(f"r{i},I{i}\n" for i in range(20000))).encode())
    path = _write(tmp_path / "m.csv.gz", data[: len(data) // 2])
    with pytest.raises(ManifestError, match=r"m\.csv\.gz.*not readable as gzip-compressed CSV"):
        _ids(path)


def test_a_plain_file_named_gz_names_the_file(tmp_path):
    path = _write(tmp_path / "m.csv.gz", "record_id,image_uri\nS1234567D,I0\n")
    with pytest.raises(ManifestError) as info:
        _ids(path)
    assert "m.csv.gz" in str(info.value) and ".gz suffix" in str(info.value)
    assert "S1234567D" not in str(info.value) and "b'" not in str(info.value)


def test_a_plain_file_named_jsonl_gz_names_the_file(tmp_path):
    path = _write(tmp_path / "m.jsonl.gz", '{"image_uri": "I0"}\n')
    with pytest.raises(ManifestError, match=r"m\.jsonl\.gz"):
        open_manifest(str(path))


def test_a_latin1_header_names_the_file_and_the_fix(tmp_path):
    path = _write(tmp_path / "m.csv", "r\xe9cord_id,image_uri\na,I0\n".encode("latin-1"))
    with pytest.raises(ManifestError, match=r"m\.csv.*header line is not UTF-8.*save the file as UTF-8"):
        _ids(path)


def test_a_latin1_jsonl_line_names_the_file_and_line(tmp_path):
    path = _write(tmp_path / "m.jsonl", '{"image_uri": "a"}\n{"image_uri": "\xe9"}\n'.encode("latin-1"))
    with pytest.raises(ManifestError, match=r"m\.jsonl' line 2 is not UTF-8"):
        open_manifest(str(path))


def test_duplicate_parquet_columns_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table([pa.array(["a"]), pa.array(["b"])], names=["image_uri", "image_uri"]), path)
    with pytest.raises(ManifestError, match=r"m\.parquet.*more than one column named 'image_uri'"):
        open_manifest(str(path))


def test_duplicate_image_columns_in_a_csv_are_refused(tmp_path):
    path = _write(tmp_path / "m.csv", "image_uri,x,image_uri\nI0,1,I1\n")
    with pytest.raises(ManifestError, match=r"more than one column named 'image_uri' \(2 times\)"):
        open_manifest(str(path))


def test_duplicate_columns_nobody_reads_are_fine(tmp_path):
    path = _write(tmp_path / "m.csv", "image_uri,x,x\nI0,1,2\n")
    assert open_manifest(str(path)).count_rows() == 1


# -- hangs and unbounded memory ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl", "m.parquet"])
def test_a_fifo_manifest_is_refused_without_blocking(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    with pytest.raises(ManifestError, match=r"named pipe \(FIFO\), not a regular file"):
        in_thread(lambda: open_manifest(str(fifo)))


def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "m.csv"
    link.symlink_to(fifo)
    with pytest.raises(ManifestError, match="FIFO"):
        in_thread(lambda: open_manifest(str(link)))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_manifest_without_newlines_is_refused_with_bounded_memory(tmp_path, fmt):
    link = tmp_path / f"m.{fmt}"
    link.symlink_to("/dev/zero")
    with pytest.raises(ManifestError, match=rf"m\.{fmt}': line 1 is longer than {MAX_LINE_BYTES} bytes"):
        in_thread(lambda: open_manifest(str(link)))


def test_a_long_jsonl_line_is_refused_naming_the_file(tmp_path):
    path = _write(tmp_path / "m.jsonl", '{"image_uri": "I0"}\n{"image_uri": "' + "x" * MAX_LINE_BYTES + '"}\n')
    with pytest.raises(ManifestError, match=r"m\.jsonl': line 2 is longer than"):
        open_manifest(str(path))


# -- arguments ---------------------------------------------------------------------------------


def test_carry_columns_as_a_string_is_refused_clearly(tmp_path):
    path = _write(tmp_path / "m.csv", "image_uri,side\nI0,front\n")
    with pytest.raises(ManifestError, match=r"carry_columns must be a list of column names, not the string 'side'"):
        open_manifest(str(path), carry_columns="side")


# -- no personal data in the traceback Airflow logs --------------------------------------------


def _chain(exc: BaseException) -> str:
    """Every message a logged traceback shows: the exception, its cause, its unsuppressed context."""
    texts = []
    current: BaseException | None = exc
    while current is not None:
        texts.append(str(current))
        if current.__cause__ is not None:
            current = current.__cause__
        else:
            current = None if current.__suppress_context__ else current.__context__
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ragged.csv", b"record_id,image_uri\nS9999999Z,I0,EXTRA\n"),
        ("fake.csv.gz", b"S9999999Z,image_uri\n"),
        ("bad.parquet", b"PAR1S9999999ZS9999999Z"),
    ],
)
def test_cell_values_are_not_in_the_error_or_its_cause(tmp_path, name, data):
    path = _write(tmp_path / name, data)
    with pytest.raises(ManifestError) as info:
        _ids(path)
    assert name in str(info.value)
    assert "S9999999Z" not in _chain(info.value) and "S9" not in _chain(info.value)
