"""cos:// as an Airflow object-storage scheme, against a real S3 API on loopback (moto).

moto stands in for COS's S3-compatible endpoint. On an IP endpoint (``http://127.0.0.1:<port>``)
botocore always addresses buckets path-style whatever it is told, and ``<bucket>.localhost`` does not
resolve here, so the virtual-host test sends the requests through moto as an HTTP proxy: the request
line and ``Host`` then name ``<bucket-appid>.cos.<region>.cos.test`` exactly as on COS, no name is
resolved, and moto finds the bucket from the host name (path-style would name bucket ``cos`` there).
What was sent is recorded by a relay in front of moto (``recording_proxy``), not by botocore event
handlers: s3fs before 2026.9 replaces its client on the first call, losing handlers registered on it.
"""

from __future__ import annotations

import sys
from urllib.parse import parse_qs, urlsplit

import fsspec
import pytest
from airflow.sdk import ObjectStoragePath
from s3_server import cos_connection, recording_proxy

from airflow_provider_tencent_ocr.get_provider_info import get_provider_info
from airflow_provider_tencent_ocr.io import cos_fs, storage


@pytest.fixture
def cos_conn(s3, cos_bucket, monkeypatch, request):
    """A tencentcloud connection whose cos_endpoint is moto; a fresh id per test (filesystems are cached)."""
    conn_id = f"cos_{request.node.name[-20:].strip('[]').replace('-', '_')}_{s3.endpoint.rsplit(':', 1)[1]}"
    for name, value in cos_connection("http://127.0.0.1:1", cos_endpoint=s3.endpoint, conn_id=conn_id).items():
        monkeypatch.setenv(name, value)
    return conn_id


def test_provider_registers_the_cos_scheme():
    assert get_provider_info()["filesystems"] == ["airflow_provider_tencent_ocr.io.cos_fs"]
    assert cos_fs.schemes == ["cos"]
    assert "cos_endpoint" in get_provider_info()["connection-types"][0]["conn-fields"]
    from airflow.sdk.io.fs import has_fs

    assert has_fs("cos")  # what Airflow's providers manager found from the installed provider


def test_object_storage_path_reads_and_writes_cos(s3, cos_bucket, cos_conn):
    path = ObjectStoragePath(f"cos://{cos_bucket}/inbox/card.txt", conn_id=cos_conn)
    path.write_bytes(b"hello cos")
    assert path.read_bytes() == b"hello cos"
    assert path.exists() and not (path.parent / "absent.txt").exists()
    assert [p.name for p in path.parent.iterdir()] == ["card.txt"]
    assert s3.keys_in(cos_bucket) == ["inbox/card.txt"]  # where a plain S3 client sees it
    # fsspec knows the scheme too (entry point), for pandas/pyarrow and fsspec.open outside Airflow.
    with fsspec.open(f"cos://{cos_bucket}/inbox/card.txt", "rb", conn_id=cos_conn) as handle:
        assert handle.read() == b"hello cos"


def test_storage_adapter_uses_the_cos_filesystem(s3, cos_bucket, cos_conn):
    base = f"cos://{cos_bucket}/adapter"
    storage.write_many({f"{base}/{i}.json": str(i).encode() for i in range(3)}, conn_id=cos_conn)
    assert storage.list_files(base, conn_id=cos_conn) == [f"{base}/{i}.json" for i in range(3)]
    assert storage.read_bytes(f"{base}/2.json", conn_id=cos_conn) == b"2"
    with pytest.raises(FileNotFoundError):
        storage.read_bytes(f"{base}/9.json", conn_id=cos_conn)


def test_buckets_are_addressed_virtual_host_style(s3, cos_bucket, monkeypatch):
    """COS refuses path-style for buckets since 2024 (PathStyleDomainForbidden): the bucket is in the host."""
    conn_id = f"cos_vhost_{s3.endpoint.rsplit(':', 1)[1]}"
    endpoint = "http://cos.ap-singapore.cos.test"
    for name, value in cos_connection("http://127.0.0.1:1", cos_endpoint=endpoint, conn_id=conn_id).items():
        monkeypatch.setenv(name, value)
    with recording_proxy(s3.endpoint) as proxy:
        fs = cos_fs.get_fs(conn_id, {"config_kwargs": {"proxies": {"http": proxy.endpoint}}})
        fs.pipe_file(f"{cos_bucket}/vhost/a.txt", b"A")
        assert fs.cat_file(f"{cos_bucket}/vhost/a.txt") == b"A"
    assert s3.keys_in(cos_bucket, "vhost/") == ["vhost/a.txt"]
    assert len(proxy.requests) >= 2  # the upload and the read, as they went over the wire
    assert {sent.host for sent in proxy.requests} == {f"{cos_bucket}.cos.ap-singapore.cos.test"}
    assert {urlsplit(sent.target).hostname for sent in proxy.requests} == {f"{cos_bucket}.cos.ap-singapore.cos.test"}
    assert all(sent.path.startswith("/vhost/") for sent in proxy.requests)  # no bucket in the path
    signed = urlsplit(fs.sign(f"{cos_bucket}/vhost/a.txt"))
    assert (signed.hostname, signed.path) == (f"{cos_bucket}.cos.ap-singapore.cos.test", "/vhost/a.txt")


def test_uploads_over_8_mb_carry_no_default_checksums(s3, cos_bucket, monkeypatch):
    """botocore >= 1.36 adds CRC checksums to every upload; COS rejects them on multipart uploads."""
    data = bytes(range(256)) * (9 * 4096)  # 9 MB, in 5 MB parts: a multipart upload
    with recording_proxy(s3.endpoint) as proxy:
        conn_id = f"cos_checksums_{proxy.endpoint.rsplit(':', 1)[1]}"
        for name, value in cos_connection("http://127.0.0.1:1", cos_endpoint=proxy.endpoint, conn_id=conn_id).items():
            monkeypatch.setenv(name, value)
        fs = cos_fs.get_fs(conn_id)
        with fs.open(f"{cos_bucket}/big/nine-mb.bin", "wb", block_size=5 * 2**20) as handle:
            handle.write(data)
        uploads = list(proxy.requests)
        assert fs.cat_file(f"{cos_bucket}/big/nine-mb.bin") == data
    # A multipart upload: created, its parts sent, completed (the parts are what COS checks).
    steps = [(sent.method, sorted(parse_qs(urlsplit(sent.target).query, keep_blank_values=True))) for sent in uploads]
    assert steps[0] == ("POST", ["uploads"]) and steps[-1] == ("POST", ["uploadId"])
    assert steps[1:-1] and all(step == ("PUT", ["partNumber", "uploadId"]) for step in steps[1:-1])
    checksum_headers = {name for sent in proxy.requests for name in sent.headers if "checksum" in name.lower()}
    assert checksum_headers == set()


def test_credentials_region_and_endpoint_come_from_the_tencentcloud_connection(monkeypatch):
    """SecretId/SecretKey sign, the STS token travels, and the default endpoint is the region's COS."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_COS_STS",
        '{"conn_type": "tencentcloud", "login": "AKIDsts", "password": "sts-secret", '
        '"extra": {"region": "ap-hongkong", "token": "sts-session-token"}}',
    )
    settings = cos_fs.cos_settings("cos_sts")
    assert settings.endpoint == "https://cos.ap-hongkong.myqcloud.com"
    assert "sts-secret" not in repr(settings) and "sts-session-token" not in repr(settings)
    fs = cos_fs.get_fs("cos_sts")
    url = urlsplit(fs.sign("photos-1250000000/a.jpg", expiration=60))  # signing is local: no request
    assert url.hostname == "photos-1250000000.cos.ap-hongkong.myqcloud.com"
    query = parse_qs(url.query)
    assert query["X-Amz-Credential"][0].startswith("AKIDsts/") and "/ap-hongkong/s3/" in query["X-Amz-Credential"][0]
    assert query["X-Amz-Security-Token"] == ["sts-session-token"]


def test_without_a_conn_id_the_default_tencentcloud_connection_serves_cos(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT",
        '{"conn_type": "tencentcloud", "login": "AKIDdefault", "password": "x", "extra": {"region": "ap-bangkok"}}',
    )
    url = cos_fs.get_fs(None).sign("b-1250000000/k.png")
    assert urlsplit(url).hostname == "b-1250000000.cos.ap-bangkok.myqcloud.com" and "AKIDdefault" in url


def test_storage_conn_id_defaults_to_the_ocr_connection_for_cos_only():
    pick = cos_fs.default_storage_conn_id
    assert pick(None, "ocr", ["cos://b-1/m.csv", None]) == "ocr"
    assert pick(None, "ocr", ["s3://b/m.csv", "/tmp/out.parquet"]) is None
    assert pick("aws", "ocr", ["cos://b-1/m.csv"]) == "aws"  # an explicit one always wins


def test_without_s3fs_the_error_names_the_extra_and_other_schemes_still_load(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    monkeypatch.delitem(sys.modules, "airflow_provider_tencent_ocr.io.cos_filesystem", raising=False)
    with pytest.raises(ImportError, match=r"airflow-provider-tencent-ocr\[cos\]"):
        cos_fs.get_fs("any")
    with pytest.raises(
        storage.StorageBackendMissing, match=r"install airflow-provider-tencent-ocr\[cos\] to read cos://"
    ):
        storage.read_bytes("cos://b-1250000000/manifest.csv", conn_id="any")
