"""Manifests that change under the task, and values no reader can turn into a row: a ManifestError naming the file.

Real files on disk and a real S3 API (moto on loopback) through the provider's storage path.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from airflow_provider_tencent_ocr.io.manifest import ManifestError, open_manifest


def csv(path: Path, n: int) -> str:
    path.write_text("record_id,image_uri\n" + "".join(f"r{i},/img/{i}.png\n" for i in range(n)))
    return str(path)


def rows_of(manifest) -> list[str]:
    return [row.record_id for batch in manifest.iter_batches() for row in batch]


def test_a_local_manifest_rewritten_after_the_check_fails_naming_it(tmp_path):
    source = csv(tmp_path / "m.csv", 5)
    manifest = open_manifest(source, id_column="record_id")
    assert manifest.count_rows() == 5
    time.sleep(0.01)
    csv(tmp_path / "m.csv", 3)  # overwritten between the validation and the streaming pass
    with pytest.raises(ManifestError, match=r"m\.csv.*changed under the task: it was modified after it was checked"):
        rows_of(manifest)


def test_a_local_manifest_rewritten_while_it_is_read_fails_at_the_end(tmp_path):
    source = csv(tmp_path / "m.csv", 50)
    manifest = open_manifest(source, id_column="record_id", batch_rows=10)
    batches = manifest.iter_batches()
    assert len(next(batches)) == 10
    Path(source).write_text(Path(source).read_text() + "r50,/img/50.png\n")  # appended to while read
    with pytest.raises(ManifestError, match="changed under the task"):
        list(batches)


def test_a_same_size_rewrite_is_caught_by_its_modification_time(tmp_path):
    source = csv(tmp_path / "m.csv", 5)
    manifest = open_manifest(source, id_column="record_id")
    text = Path(source).read_text().replace("r4", "x4")
    Path(source).write_text(text)
    stat = os.stat(source)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(ManifestError, match="changed under the task"):
        rows_of(manifest)


def test_an_unchanged_manifest_reads_twice(tmp_path):
    manifest = open_manifest(csv(tmp_path / "m.csv", 5), id_column="record_id")
    assert rows_of(manifest) == rows_of(manifest) == [f"r{i}" for i in range(5)]


def test_an_object_storage_manifest_overwritten_after_the_check_fails_naming_it(s3_env):
    client, key = s3_env.client(), "manifests/changing.jsonl"
    body = "".join(json.dumps({"image_uri": f"s3://b/{i}.png"}) + "\n" for i in range(5))
    client.put_object(Bucket=s3_env.bucket, Key=key, Body=body.encode())
    manifest = open_manifest(s3_env.uri(key), storage_conn_id=s3_env.conn_id)
    assert manifest.count_rows() == 5
    client.put_object(Bucket=s3_env.bucket, Key=key, Body=body.encode()[: len(body) * 3 // 5])  # 3 rows now
    with pytest.raises(ManifestError, match=r"changing\.jsonl.*changed under the task"):
        rows_of(manifest)


def test_an_unchanged_object_storage_manifest_streams(s3_env):
    client, key = s3_env.client(), "manifests/steady.csv"
    client.put_object(Bucket=s3_env.bucket, Key=key, Body=b"image_uri\n/a.png\n/b.png\n")
    manifest = open_manifest(s3_env.uri(key), storage_conn_id=s3_env.conn_id)
    assert rows_of(manifest) == ["0", "1"]


def test_a_deeply_nested_jsonl_value_is_a_manifest_error_naming_the_line(tmp_path):
    path = tmp_path / "deep.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text('{"image_uri": "/a.png"}\n{"image_uri": "/b.png", "extra": ' + deep + "}\n")
    with pytest.raises(ManifestError, match=r"deep\.jsonl.* line 2 nests arrays or objects too deeply") as raised:
        open_manifest(str(path), carry_columns=["extra"])
    assert not isinstance(raised.value.__context__, RecursionError) or raised.value.__suppress_context__


def test_a_value_too_deep_for_the_streaming_pass_is_a_manifest_error_too(tmp_path):
    """Checked fine when opened, too deep for the thread that streams it (a smaller stack): same clear error."""
    path = tmp_path / "deep.jsonl"
    deep = "[" * 900 + "]" * 900
    path.write_text('{"image_uri": "/a.png", "extra": ' + deep + "}\n")
    manifest = open_manifest(str(path), carry_columns=["extra"])
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        with pytest.raises(ManifestError, match=r"deep\.jsonl.* (line 1|row 0)"):
            rows_of(manifest)
    finally:
        sys.setrecursionlimit(limit)


def test_a_5000_digit_number_is_a_manifest_error_naming_the_line(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text('{"image_uri": "/a.png", "n": 1}\n{"image_uri": "/b.png", "n": ' + "9" * 5000 + "}\n")
    with pytest.raises(ManifestError, match=r"big\.jsonl.* line 2 holds a value that cannot be read") as raised:
        open_manifest(str(path), carry_columns=["n"])
    assert "write very long numbers as strings" in str(raised.value)
    assert "9999" not in str(raised.value)  # no manifest values in the message
