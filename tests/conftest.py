"""Test-wide setup: an isolated AIRFLOW_HOME, and fixtures shared by the test modules (a real S3 on loopback)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest
from s3_server import s3_server

# Airflow reads its home at import time: point it at a throwaway folder before anything imports it.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="tencent-ocr-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
for _name in ("TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY", "TENCENTCLOUD_SESSION_TOKEN"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="module")
def s3():
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3, monkeypatch):
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    return s3


@pytest.fixture
def cos_bucket(s3):
    """A COS-named bucket (``<name>-<APPID>``) on the module's moto server, emptied after the test."""
    from s3_server import COS_BUCKET

    client = s3.client()
    client.create_bucket(Bucket=COS_BUCKET)
    yield COS_BUCKET
    for key in s3.keys_in(COS_BUCKET):
        client.delete_object(Bucket=COS_BUCKET, Key=key)


@pytest.fixture(autouse=True)
def _fresh_object_stores() -> Iterator[None]:
    """Airflow caches one filesystem per (scheme, conn_id) for the process, and fsspec one instance per
    constructor arguments (the conn_id): a test reusing a conn_id with another server (moto, the
    emulator) would otherwise talk to the previous test's, stopped, server."""
    yield
    from airflow.sdk.io import store

    store._STORE_CACHE.clear()
    try:
        from airflow_provider_tencent_ocr.io.cos_filesystem import CosFileSystem
    except ImportError:
        return
    CosFileSystem.clear_instance_cache()
