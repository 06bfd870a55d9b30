"""The result cache: one object per result, private on disk, shared safely, uploaded off the workers' path."""

from __future__ import annotations

import logging
import os
import stat
import threading

import pytest

from airflow_provider_tencent_ocr.io.cache import ResultCache, cache_key, default_cache_uri

ACTION = "RecognizeSingaporeIDCardOCR"


def key(i: int, head: bool = False) -> str:
    return cache_key(ACTION, f"{i:064x}", {"return_head_image": head})


def test_default_location_is_a_folder_next_to_the_output():
    assert default_cache_uri("/data/out/cards.parquet") == "/data/out/cards.parquet.ocr-cache"
    assert default_cache_uri("s3://b/run/parts/") == "s3://b/run/parts.ocr-cache"


def test_local_cache_is_owner_only_and_survives_reopening(tmp_path):
    root = tmp_path / "deep" / "cache"
    with ResultCache(str(root)) as cache:
        cache.put(key(1), {"ID": "S1234567D", "RequestId": "r1"}, obtained_at=1700000000.0)
    entries = [p for p in root.rglob("*") if p.is_file()]
    assert [p.name for p in entries] == [key(1) + ".json"]  # content-addressed: named by the key only
    assert stat.S_IMODE(os.stat(entries[0]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(entries[0].parent).st_mode) == 0o700
    with ResultCache(f"file://{root}") as cache:
        assert cache.get(key(1)) == ({"ID": "S1234567D", "RequestId": "r1"}, 1700000000.0)
        assert cache.get(key(1, head=True)) is None
        assert len(cache) == 1


def test_a_cache_file_from_an_earlier_version_is_refused_with_a_way_out(tmp_path):
    old = tmp_path / "out.parquet.ocr-cache.sqlite"
    old.write_bytes(b"SQLite format 3\x00")
    with pytest.raises(ValueError, match="give a folder path for cache="):
        ResultCache(str(old))


def test_results_in_the_earlier_sqlite_cache_are_not_paid_again(tmp_path):
    """The earlier default was one SQLite file at <output>.ocr-cache.sqlite: it is read beside the new folder."""
    import json
    import sqlite3

    legacy = tmp_path / "out.parquet.ocr-cache.sqlite"
    db = sqlite3.connect(legacy)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE results (key TEXT PRIMARY KEY, obtained_at REAL NOT NULL, result TEXT NOT NULL)")
    db.execute("INSERT INTO results VALUES (?, ?, ?)", (key(1), 5.0, json.dumps({"RequestId": "old"})))
    db.commit()
    db.close()
    before = legacy.read_bytes()
    with ResultCache(default_cache_uri(str(tmp_path / "out.parquet"))) as cache:
        assert cache.get(key(1)) == ({"RequestId": "old"}, 5.0)
        assert cache.get(key(2)) is None
        assert len(cache) == 1  # copied into the new cache on first use
    assert legacy.read_bytes() == before  # only read, never written


def test_many_writers_on_one_local_cache_lose_nothing(tmp_path):
    """Several caches (as in several tasks) and many threads each, writing overlapping keys at once."""
    root = str(tmp_path / "shared")
    caches = [ResultCache(root) for _ in range(3)]
    barrier = threading.Barrier(6)

    def write(cache: ResultCache, first: int) -> None:
        barrier.wait()
        for i in range(first, first + 60):
            cache.put(key(i), {"RequestId": f"r{i}"}, obtained_at=float(i))

    threads = [threading.Thread(target=write, args=(caches[n % 3], n * 30)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for cache in caches:
        cache.close()
    with ResultCache(root) as reader:
        assert len(reader) == 30 * 5 + 60
        assert all(reader.get(key(i)) == ({"RequestId": f"r{i}"}, float(i)) for i in range(210))
    assert not [p for p in (tmp_path / "shared").rglob(".*")]  # no temporary file left behind


def test_a_failed_local_write_is_logged_not_raised(tmp_path, caplog):
    root = tmp_path / "cache"
    cache = ResultCache(str(root))
    (root / key(1)[:2]).write_text("a file where the shard folder should be")
    with caplog.at_level(logging.WARNING, logger="airflow_provider_tencent_ocr.io.cache"):
        cache.put(key(1), {"ID": "S1234567D"}, obtained_at=1.0)
    assert cache.get(key(1)) is None
    assert "could not store" in caplog.text and "S1234567D" not in caplog.text


def test_object_storage_results_are_uploaded_without_waiting_for_close(s3_env, request):
    uri = s3_env.uri(f"{request.node.name}/cache")
    writer = ResultCache(uri, storage_conn_id=s3_env.conn_id)
    writer.put(key(1), {"RequestId": "r1"}, obtained_at=1.0)
    writer.put(key(2), {"RequestId": "r2"}, obtained_at=2.0)
    assert writer.get(key(2)) == ({"RequestId": "r2"}, 2.0)  # served while (or after) it is uploaded
    assert writer.flush(timeout=30)
    # Another task (another cache object, as in another process) sees both before the writer closes.
    prefix = f"{request.node.name}/cache/"
    assert s3_env.keys(prefix) == sorted(f"{prefix}{k[:2]}/{k}.json" for k in (key(1), key(2)))
    with ResultCache(uri, storage_conn_id=s3_env.conn_id) as other:
        assert other.get(key(1)) == ({"RequestId": "r1"}, 1.0) and other.get(key(3)) is None
        other.put(key(3), {"RequestId": "r3"}, obtained_at=3.0)
    writer.close()
    with ResultCache(uri, storage_conn_id=s3_env.conn_id) as again:
        assert len(again) == 3


def test_two_writers_on_one_object_storage_cache_lose_nothing(s3_env, request):
    uri = s3_env.uri(f"{request.node.name}/cache")
    a = ResultCache(uri, storage_conn_id=s3_env.conn_id)
    b = ResultCache(uri, storage_conn_id=s3_env.conn_id)
    for i in range(40):  # interleaved, overlapping in the middle
        a.put(key(i), {"RequestId": f"a{i}"}, obtained_at=float(i))
        b.put(key(i + 20), {"RequestId": f"b{i + 20}"}, obtained_at=float(i + 20))
    a.close()
    b.close()
    with ResultCache(uri, storage_conn_id=s3_env.conn_id) as reader:
        assert len(reader) == 60
        assert all(reader.get(key(i)) is not None for i in range(60))


def test_an_unreachable_store_never_fails_the_run(s3_env, caplog):
    cache = ResultCache("s3://no-such-bucket/cache", storage_conn_id=s3_env.conn_id, sync_seconds=0.2)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_tencent_ocr.io.cache"):
        cache.put(key(1), {"ID": "S1234567D"}, obtained_at=1.0)  # returns: the upload happens elsewhere
        cache.put(key(2), {"ID": "S1234567D"}, obtained_at=2.0)
        assert cache.get(key(1)) == ({"ID": "S1234567D"}, 1.0)  # still served within the run
        cache.close(timeout=1)
    assert "could not be uploaded" in caplog.text and "S1234567D" not in caplog.text


def test_a_discarded_result_is_gone_locally(tmp_path):
    with ResultCache(str(tmp_path / "c")) as cache:
        cache.put(key(1), {"RequestId": "r1"}, 1.0)
        cache.put(key(2), {"RequestId": "r2"}, 2.0)
        cache.discard(key(1))
        cache.discard(key(9))  # never stored: nothing to do
        assert cache.get(key(1)) is None and cache.get(key(2)) == ({"RequestId": "r2"}, 2.0)
    with ResultCache(str(tmp_path / "c")) as again:
        assert again.get(key(1)) is None and len(again) == 1


def test_a_discarded_result_queued_for_upload_never_reaches_the_store(s3_env, request):
    uri = s3_env.uri(f"{request.node.name}/cache")
    with ResultCache(uri, storage_conn_id=s3_env.conn_id) as cache:
        cache.put(key(1), {"RequestId": "r1"}, 1.0)  # queued: maybe uploading right now
        cache.put(key(2), {"RequestId": "r2"}, 2.0)
        cache.discard(key(1))
        assert cache.get(key(1)) is None
    prefix = f"{request.node.name}/cache/"
    assert s3_env.keys(prefix) == [f"{prefix}{key(2)[:2]}/{key(2)}.json"]
