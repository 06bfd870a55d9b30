"""The storage adapter on local paths and on S3 (moto on loopback, through the Amazon provider and s3fs)."""

from __future__ import annotations

import os
import stat
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
from airflow_provider_tencent_ocr.report import build_warn_report
from airflow_provider_tencent_ocr.rows.postprocess import write_photo


def test_local_write_is_atomic_and_private_when_asked(tmp_path):
    target = tmp_path / "a" / "b" / "entry.json"
    storage.write_bytes(str(target), b"one", private=True)
    storage.write_bytes(str(target), b"two", private=True)  # replaces, never appends or truncates
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700
    assert os.listdir(target.parent) == ["entry.json"]  # no temporary file left
    storage.write_bytes(str(tmp_path / "public.txt"), b"x")
    assert stat.S_IMODE(os.stat(tmp_path / "public.txt").st_mode) & 0o044  # default: as the umask says


def test_local_read_list_exists_and_publish(tmp_path):
    uri = f"file://{tmp_path}/folder"
    storage.write_many({f"{uri}/x/1.json": b"1", f"{uri}/2.json": b"2"})
    assert storage.exists(f"{uri}/x/1.json") and not storage.exists(f"{uri}/3.json")
    assert storage.list_files(uri) == [f"{uri}/2.json", f"{uri}/x/1.json"]
    assert storage.list_files(str(tmp_path / "absent")) == []
    with storage.open_read(f"{uri}/2.json") as handle:
        assert handle.read() == b"2"
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(str(tmp_path / "absent.json"))
    staged = tmp_path / "staged.bin"
    staged.write_bytes(b"payload")
    storage.publish(str(staged), str(tmp_path / "out" / "final.bin"))
    assert (tmp_path / "out" / "final.bin").read_bytes() == b"payload" and not staged.exists()
    assert storage.join(str(tmp_path), "a", "b") == os.path.join(str(tmp_path), "a", "b")
    assert storage.join("s3://bucket/run/", "a", "b.json") == "s3://bucket/run/a/b.json"


def test_a_missing_s3_filesystem_names_the_package_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    with pytest.raises(storage.StorageBackendMissing, match=r"apache-airflow-providers-amazon\[s3fs\]"):
        storage.read_bytes("s3://bucket/key.json", conn_id="aws_default")


def test_object_storage_round_trip_with_the_connection(s3_env):
    conn = s3_env.conn_id
    base = s3_env.uri("roundtrip")
    storage.write_bytes(f"{base}/a.json", b"A", conn_id=conn)
    storage.write_many({f"{base}/d/{i}.json": str(i).encode() for i in range(5)}, conn_id=conn)
    assert storage.read_bytes(f"{base}/a.json", conn_id=conn) == b"A"
    assert storage.exists(f"{base}/d/3.json", conn_id=conn) and not storage.exists(f"{base}/zz", conn_id=conn)
    assert storage.list_files(base, conn_id=conn) == [f"{base}/a.json", *(f"{base}/d/{i}.json" for i in range(5))]
    assert storage.list_files(s3_env.uri("nothing-here"), conn_id=conn) == []
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(f"{base}/missing.json", conn_id=conn)
    with storage.open_read(f"{base}/d/4.json", conn_id=conn) as handle:
        assert handle.read() == b"4"
    assert s3_env.keys("roundtrip/")[0] == "roundtrip/a.json"  # where a plain S3 client sees it


def test_parquet_photos_and_report_on_object_storage(s3_env, tmp_path):
    """The writer publishes through the adapter; photos and the report use the connection too."""
    conn = s3_env.conn_id
    out = s3_env.uri("run/cards.parquet")
    rows = [{"record_id": str(i), "image_uri": f"/{i}.png", "status": "ok", "warn_covered": i == 0} for i in range(3)]
    with ParquetOutputWriter(out, output_schema(), storage_conn_id=conn) as writer:
        writer.write_rows(rows)
    assert "run/cards.parquet" in s3_env.keys("run/")
    assert not [k for k in s3_env.keys() if k.endswith(".tmp")]

    photo = b"\x89PNG\r\n\x1a\n" + b"portrait"
    where = write_photo(photo, s3_env.uri("run/photos"), storage_conn_id=conn)
    assert where.startswith("s3://ocr-test/run/photos/") and "@" not in where  # no connection id in the path
    assert write_photo(photo, s3_env.uri("run/photos"), storage_conn_id=conn) == where  # content-addressed
    assert storage.read_bytes(where, conn_id=conn) == photo

    report = build_warn_report(out, s3_env.uri("run/report"), storage_conn_id=conn)
    assert (report["rows"], report["ok"]) == (3, 3)
    assert {"run/report/warn_report.json", "run/report/warn_report.md", "run/report/warn_rates.png"} <= set(
        s3_env.keys("run/report/")
    )
    local = tmp_path / "cards.parquet"
    local.write_bytes(storage.read_bytes(out, conn_id=conn))
    assert pq.read_table(local).schema.equals(output_schema(), check_metadata=False)
    assert pq.read_table(local).column("record_id") == pa.chunked_array([["0", "1", "2"]])


def test_manifest_and_images_on_object_storage(s3_env):
    """Manifest (CSV and Parquet) and image bytes read from S3 with the connection, through the adapter."""
    import io

    from helpers import make_png

    from airflow_provider_tencent_ocr.io.images import load_image
    from airflow_provider_tencent_ocr.io.manifest import ManifestError, open_manifest

    conn = s3_env.conn_id
    image = make_png(6, 6, seed=3)
    storage.write_bytes(s3_env.uri("inputs/card.png"), image, conn_id=conn)
    assert load_image(s3_env.uri("inputs/card.png"), storage_conn_id=conn) == image
    csv = f"record_id,image_uri,branch\n007,{s3_env.uri('inputs/card.png')},north\n"
    storage.write_bytes(s3_env.uri("inputs/manifest.csv"), csv.encode(), conn_id=conn)
    buffer = io.BytesIO()
    pq.write_table(pa.table({"record_id": ["1"], "image_uri": ["s3://x/y.png"]}), buffer)
    storage.write_bytes(s3_env.uri("inputs/manifest.parquet"), buffer.getvalue(), conn_id=conn)

    manifest = open_manifest(
        s3_env.uri("inputs/manifest.csv"), id_column="record_id", carry_columns=["branch"], storage_conn_id=conn
    )
    rows = [row for batch in manifest.iter_batches() for row in batch]
    assert [(r.record_id, r.image_uri, r.carried) for r in rows] == [
        ("007", s3_env.uri("inputs/card.png"), {"branch": "north"})
    ]
    parquet = open_manifest(s3_env.uri("inputs/manifest.parquet"), id_column="record_id", storage_conn_id=conn)
    assert [r.record_id for batch in parquet.iter_batches() for r in batch] == ["1"]
    with pytest.raises(ManifestError, match="does not exist"):
        open_manifest(s3_env.uri("inputs/absent.csv"), storage_conn_id=conn)
