"""URIs without credentials (issue 10): the output column, the cache key and portrait paths."""

from __future__ import annotations

import collections
import functools
import http.server
import logging
import threading
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.io.uris import redact_uri
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from airflow_provider_tencent_ocr.rows.postprocess import write_photo

FIELDS = {"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "Birthday": "01-02-1980"}
SECRETS = ("SIGNATURE0123", "CREDENTIAL0123", "SESSIONTOKEN0123", "hunter2", "s3cr3t")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (
            "https://kyc.s3.amazonaws.com/a/card.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=CREDENTIAL0123%2F20240101%2Fap-southeast-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
            "&X-Amz-Security-Token=SESSIONTOKEN0123&X-Amz-Signature=SIGNATURE0123",
            "https://kyc.s3.amazonaws.com/a/card.png",
        ),
        (
            "https://b-125.cos.ap-singapore.myqcloud.com/c.jpg?sign=SIGNATURE0123&t=1",
            "https://b-125.cos.ap-singapore.myqcloud.com/c.jpg?t=1",
        ),
        (
            "https://b-125.cos.ap-singapore.myqcloud.com/c.jpg?q-sign-algorithm=sha1&q-ak=CREDENTIAL0123"
            "&q-sign-time=1;2&q-key-time=1;2&q-header-list=host&q-url-param-list=&q-signature=SIGNATURE0123"
            "&x-cos-security-token=SESSIONTOKEN0123",
            "https://b-125.cos.ap-singapore.myqcloud.com/c.jpg",
        ),
        ("https://user:hunter2@host.example/p/c.png", "https://host.example/p/c.png"),
        ("http://host.example/c.png?token=s3cr3t&id=7", "http://host.example/c.png?id=7"),
        ("http://host.example/c.png?access_token=s3cr3t&api_key=s3cr3t&sig=s3cr3t", "http://host.example/c.png"),
        (
            "https://acct.blob.core.windows.net/c/x.png?sv=2022&se=2024&sr=b&sp=r&sig=SIGNATURE0123",
            "https://acct.blob.core.windows.net/c/x.png",
        ),
        ("https://host.example/x.png?sp=keep&v=2", "https://host.example/x.png?sp=keep&v=2"),  # no SAS: kept
        (
            "https://storage.googleapis.com/b/x.png?X-Goog-Signature=SIGNATURE0123",
            "https://storage.googleapis.com/b/x.png",
        ),
        ("s3://minio_s3@kyc/photos/a.jpg", "s3://kyc/photos/a.jpg"),
        ("s3://kyc/images/a.png", "s3://kyc/images/a.png"),
        ("/data/images/a.png", "/data/images/a.png"),
        ("relative/a.png", "relative/a.png"),
        (None, None),
    ],
)
def test_redact_uri(uri, expected):
    redacted = redact_uri(uri)
    assert redacted == expected
    assert not any(secret in (redacted or "") for secret in SECRETS)


def test_resigning_gives_the_same_identity():
    a = "https://h/x.png?X-Amz-Date=1&X-Amz-Signature=aaa&X-Amz-Credential=k1&X-Amz-Security-Token=t1"
    b = "https://h/x.png?X-Amz-Date=2&X-Amz-Signature=bbb&X-Amz-Credential=k2&X-Amz-Security-Token=t2"
    assert redact_uri(a) == redact_uri(b)
    assert redact_uri("https://h/x.png?versionId=1&sig=a") != redact_uri("https://h/x.png?versionId=2&sig=a")


# -- through the operator, against the emulator ------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """A loopback HTTP server over a folder that ignores query strings and credentials."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp_path, images, **kwargs):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=images, output=str(tmp_path / "out" / "cards.parquet"), progress_interval=60.0, **kwargs
    )
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    return result, pq.read_table(op.output_uri).to_pylist()


def _signed(port: int, signature: str, token: str) -> str:
    return (
        f"http://127.0.0.1:{port}/card.png?v=1&X-Amz-Credential=CREDENTIAL0123&X-Amz-Security-Token={token}"
        f"&X-Amz-Signature={signature}"
    )


@pytest.mark.parametrize("send_as", ["url", "base64"])
def test_the_output_has_no_credentials_and_resigning_is_not_billed_again(
    tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, served, send_as
):
    folder, port = served
    data = make_png(5, 5, seed=77)
    (folder / "card.png").write_bytes(data)
    tencent_ocr_emulator.recogniser.add(data, FIELDS)
    result, rows = _run(tmp_path, [_signed(port, "SIGNATURE0123", "SESSIONTOKEN0123")], send_as=send_as)
    assert rows[0]["status"] == "ok" and result["api_calls"] == 1
    assert rows[0]["image_uri"] == f"http://127.0.0.1:{port}/card.png?v=1"
    text = Path(tmp_path / "out" / "cards.parquet").read_bytes()
    assert not any(secret.encode() in text for secret in SECRETS)
    # The same object, signed again: served from the cache, not billed.
    result, rows = _run(tmp_path, [_signed(port, "OTHERSIGNATURE", "OTHERTOKEN")], send_as=send_as)
    assert rows[0]["status"] == "ok" and result["api_calls"] == 0 and result["cache_hits"] == 1
    assert tencent_ocr_emulator.stats.billed == 1


def test_userinfo_is_dropped_from_the_output(tmp_path, tencent_ocr_emulator, tencent_ocr_conn_id, served):
    folder, port = served
    data = make_png(5, 5, seed=78)
    (folder / "card.png").write_bytes(data)
    tencent_ocr_emulator.recogniser.add(data, FIELDS)
    _, rows = _run(tmp_path, [f"http://reader:hunter2@127.0.0.1:{port}/card.png"])
    assert rows[0]["status"] == "ok" and rows[0]["image_uri"] == f"http://127.0.0.1:{port}/card.png"


def test_photo_path_on_object_storage_has_no_connection_id():
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", conn_id="photos_conn", fs=MemoryFileSystem())
    photo = make_png(3, 3, seed=5)
    uri = write_photo(photo, "memory://kyc/photos", storage_conn_id="photos_conn")
    assert "photos_conn" not in uri and "@" not in uri
    assert ObjectStoragePath(uri, conn_id="photos_conn").read_bytes() == photo


def test_request_lines_logged_at_debug_carry_no_signature(served, caplog):
    from airflow_provider_tencent_ocr.io.images import load_image

    folder, port = served
    (folder / "card.png").write_bytes(make_png(4, 4, seed=1))
    with caplog.at_level(logging.DEBUG, logger="urllib3"):
        load_image(_signed(port, "SIGNATURE0123", "SESSIONTOKEN0123"))
    assert "GET /card.png?v=1" in caplog.text  # the line is still there, without the secrets
    assert not any(secret in caplog.text for secret in SECRETS)
