"""Adversarial manifests (issue 10): no silently lost rows, no hang, and every error names the file."""

from __future__ import annotations

import gzip
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import in_thread

from airflow_provider_tencent_ocr.io.manifest import MAX_LINE_BYTES, ManifestError, open_manifest


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
