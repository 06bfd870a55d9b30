"""The result cache: durable, private, and on object storage synced off the workers' path."""

from __future__ import annotations

import os
import stat
import time

import pytest

from airflow_provider_tencent_ocr.cache import ResultCache, cache_key


def test_local_cache_is_owner_only_and_survives_reopening(tmp_path):
    path = tmp_path / "deep" / "cache.sqlite"
    key = cache_key("RecognizeSingaporeIDCardOCR", "ab" * 32, {"return_head_image": False})
    with ResultCache(str(path)) as cache:
        cache.put(key, {"ID": "S1234567D", "RequestId": "r1"}, obtained_at=1700000000.0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with ResultCache(f"file://{path}") as cache:
        assert cache.get(key) == ({"ID": "S1234567D", "RequestId": "r1"}, 1700000000.0)
        assert cache.get(cache_key("RecognizeSingaporeIDCardOCR", "ab" * 32, {"return_head_image": True})) is None
        assert len(cache) == 1


@pytest.fixture
def memory_fs():
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    yield fs
    if fs.exists("/bucket"):
        fs.rm("/bucket", recursive=True)


def test_object_storage_cache_syncs_when_due_and_on_close(memory_fs):
    uri = "memory://bucket/run/cache.sqlite"
    cache = ResultCache(uri, sync_seconds=0.05)
    cache.put("k1", {"RequestId": "r1"}, obtained_at=1.0)
    assert not memory_fs.exists("/bucket/run/cache.sqlite")  # put never uploads from a worker
    time.sleep(0.06)
    cache.sync_if_due()
    assert memory_fs.exists("/bucket/run/cache.sqlite")
    cache.put("k2", {"RequestId": "r2"}, obtained_at=2.0)
    cache.close()
    with ResultCache(uri) as again:  # downloaded: both results are there
        assert again.get("k1") == ({"RequestId": "r1"}, 1.0) and again.get("k2") == ({"RequestId": "r2"}, 2.0)
