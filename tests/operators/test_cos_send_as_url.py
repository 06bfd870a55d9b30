"""A whole run on Tencent COS, and ``send_as="url"``: the service downloads a presigned URL itself.

Real everything on loopback: moto serves the bucket (standing in for COS's S3 API), the emulator
answers the signed OCR calls and, for ``ImageUrl``, downloads the presigned URL from moto itself.
The moto endpoint is an IP, so these presigned URLs are path-style (botocore's rule for IP endpoints;
see tests/io/test_cos_fs.py for the virtual-host addressing COS gets).
"""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import logging
import time
import types

import pyarrow.parquet as pq
import pytest
from helpers import make_png
from s3_server import cos_connection

from airflow_provider_tencent_ocr.exceptions import ErrorKind, classify
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.io.presign import sign_image
from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from airflow_provider_tencent_ocr.report import build_warn_report
from airflow_provider_tencent_ocr.run.documents import SingaporeFormat
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

FIELDS = {"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "Birthday": "01-02-1980"}
# Query-string signing: only a presigned URL carries these (requests the worker sends sign in a header).
SIGNATURE_MARKS = ("X-Amz-Signature", "X-Amz-Credential")


@pytest.fixture
def cos(s3, cos_bucket, tencent_ocr_emulator, monkeypatch):
    """One tencentcloud connection for the emulator (OCR) and moto (COS)."""
    conn_id = f"cos_ocr_{tencent_ocr_emulator.endpoint.rsplit(':', 1)[1]}"
    env = cos_connection(tencent_ocr_emulator.endpoint, cos_endpoint=s3.endpoint, conn_id=conn_id)
    conn = json.loads(next(iter(env.values())))
    conn["login"], conn["password"] = tencent_ocr_emulator.secret_id, tencent_ocr_emulator.secret_key
    monkeypatch.setenv(next(iter(env)), json.dumps(conn))
    return types.SimpleNamespace(conn_id=conn_id, bucket=cos_bucket, s3=s3, emulator=tencent_ocr_emulator)


def _put_images(cos, count: int, warn: list[int] | None = None) -> list[str]:
    uris = []
    for seed in range(count):
        data = make_png(6, 6, seed=seed)
        cos.emulator.recogniser.add(data, {**FIELDS, "ID": f"S123456{seed}D"}, warn)
        uri = f"cos://{cos.bucket}/inbox/card_{seed}.png"
        storage.write_bytes(uri, data, conn_id=cos.conn_id)
        uris.append(uri)
    return uris


def _run(cos, manifest: str, output: str, **kwargs):
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr",
        manifest=manifest,
        output=output,
        tencentcloud_conn_id=cos.conn_id,  # no storage_conn_id: cos:// uses the OCR connection
        max_in_flight=2,
        progress_interval=60.0,
        **kwargs,
    )
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    table = pq.read_table(io.BytesIO(storage.read_bytes(output, conn_id=cos.conn_id))).to_pylist()
    return result, table


@pytest.mark.parametrize("send_as", ["base64", "url"])
def test_a_run_entirely_on_cos(cos, send_as, caplog):
    """Manifest, images, output, cache, portraits and the warn report all on cos://, one connection."""
    caplog.set_level(logging.DEBUG)
    images = _put_images(cos, 3, warn=[-9101])
    base = f"cos://{cos.bucket}/runs/{send_as}"
    csv = "record_id,image_uri\n" + "".join(f"r{i},{uri}\n" for i, uri in enumerate(images))
    storage.write_bytes(f"{base}/manifest.csv", csv.encode(), conn_id=cos.conn_id)
    requests_before = cos.emulator.stats.requests

    result, rows = _run(cos, f"{base}/manifest.csv", f"{base}/cards.parquet", send_as=send_as, photo_output="files")

    assert (result["ok"], result["errors"], result["api_calls"]) == (3, 0, 3)
    assert [r["id_number"] for r in rows] == ["S1234560D", "S1234561D", "S1234562D"]
    assert [r["image_uri"] for r in rows] == images  # as in the manifest: no signature
    assert all(r["warn_covered"] for r in rows)
    if send_as == "url":  # the worker never read the bytes: the service fetched them from the bucket
        assert [r["image_sha256"] for r in rows] == [None] * 3
    else:
        assert all(r["image_sha256"] for r in rows)
    assert all(r["photo_path"].startswith(f"cos://{cos.bucket}/runs/{send_as}/photos/") for r in rows)
    keys = cos.s3.keys_in(cos.bucket, f"runs/{send_as}/")
    assert f"runs/{send_as}/cards.parquet" in keys
    assert sum(k.startswith(f"runs/{send_as}/cards.parquet.ocr-cache/") for k in keys) == 3  # the default cache
    assert sum(k.startswith(f"runs/{send_as}/photos/") for k in keys) == 3
    assert cos.emulator.stats.requests - requests_before == 3

    report = build_warn_report(f"{base}/cards.parquet", f"{base}/report", storage_conn_id=cos.conn_id)
    assert (report["rows"], report["ok"]) == (3, 3)
    assert {"warn_report.json", "warn_report.md", "warn_rates.png"} <= {
        k.rsplit("/", 1)[1] for k in cos.s3.keys_in(cos.bucket, f"runs/{send_as}/report/")
    }
    shown = caplog.text + json.dumps(rows, default=str) + json.dumps(result)
    for key in keys:  # the cache's entries (and any claim) hold results and keys, never a URL
        if key.endswith((".json", ".md")):
            shown += cos.s3.client().get_object(Bucket=cos.bucket, Key=key)["Body"].read().decode()
    assert not [mark for mark in SIGNATURE_MARKS if mark in shown]


def test_a_rerun_with_fresh_signatures_is_not_billed_again(cos):
    images = _put_images(cos, 2)
    first_urls = [sign_image(uri, conn_id=cos.conn_id) for uri in images]
    base = f"cos://{cos.bucket}/rerun"
    storage.write_bytes(f"{base}/m.csv", ("image_uri\n" + "\n".join(images) + "\n").encode(), conn_id=cos.conn_id)
    first, _ = _run(cos, f"{base}/m.csv", f"{base}/cards.parquet", send_as="url")
    billed = cos.emulator.stats.billed
    time.sleep(1.1)  # SigV4 signs to the second: every URL of the rerun differs from the first run's
    second_urls = [sign_image(uri, conn_id=cos.conn_id) for uri in images]
    assert [s.url for s in second_urls] != [f.url for f in first_urls]
    assert [s.identity for s in second_urls] == [f.identity for f in first_urls]  # the same objects

    second, rows = _run(cos, f"{base}/m.csv", f"{base}/cards.parquet", send_as="url")

    assert (first["api_calls"], second["api_calls"], second["cache_hits"]) == (2, 0, 2)
    assert cos.emulator.stats.billed == billed
    assert [r["attempts"] for r in rows] == [0, 0] and [r["status"] for r in rows] == ["ok", "ok"]


def test_a_replaced_object_is_recognised_again(cos):
    (uri,) = _put_images(cos, 1)
    before = sign_image(uri, conn_id=cos.conn_id)
    storage.write_bytes(uri, make_png(7, 7, seed=99), conn_id=cos.conn_id)
    assert sign_image(uri, conn_id=cos.conn_id).identity != before.identity  # new ETag: a new cache key
    assert "Signature" not in repr(before) and before.identity.startswith(f"cos://{cos.bucket}/inbox/card_0.png#")


class _Interfering(TencentOcrHook):
    """A real hook that does something to the presigned URL's object or signature before one call."""

    def __init__(self, conn_id: str, before_call) -> None:
        super().__init__(conn_id)
        self.before_call = before_call
        self.urls: list[str] = []

    def recognize_singapore_id_card(self, *, image_url=None, **kwargs):
        self.urls.append(image_url)
        return super().recognize_singapore_id_card(image_url=self.before_call(image_url), **kwargs)


class _Rows:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write_rows(self, rows) -> None:
        self.rows += rows


def _run_runner(cos, hook, images: list[str]):
    sink = _Rows()
    options = RunOptions(send_as="url", storage_conn_id=cos.conn_id, max_in_flight=1, max_attempts=3)
    options = options.__class__(**{**options.__dict__, "retry_max_wait": 0.2, "progress_interval": 60.0})
    summary = OcrRunner(hook, options).run(manifest_from_images(images), sink)
    return summary, sink.rows


def test_a_failed_service_download_of_an_object_still_there_is_retried_with_a_fresh_url(cos, caplog):
    (uri,) = _put_images(cos, 1)
    calls = {"n": 0}

    def spoil_first(url: str) -> str:  # the first URL leads nowhere (moto answers 404): the download fails
        calls["n"] += 1
        return url.replace("/inbox/", "/elsewhere/") if calls["n"] == 1 else url

    hook = _Interfering(cos.conn_id, spoil_first)
    caplog.set_level(logging.DEBUG)
    summary, rows = _run_runner(cos, hook, [uri])
    signatures = [url.split("X-Amz-Signature=")[1][:64] for url in hook.urls]
    assert not [s for s in signatures if s in caplog.text] and "X-Amz-Credential" not in caplog.text
    assert (rows[0]["status"], rows[0]["attempts"], rows[0]["id_number"]) == ("ok", 2, "S1234560D")
    assert summary.api_calls == 2 and len(hook.urls) == 2  # the object was looked up and signed again


def test_an_object_gone_before_the_service_downloads_it_is_image_not_found(cos):
    images = _put_images(cos, 2)

    def delete_first_object(url: str) -> str:
        if "card_0" in url:
            cos.s3.client().delete_object(Bucket=cos.bucket, Key="inbox/card_0.png")
        return url

    summary, rows = _run_runner(cos, _Interfering(cos.conn_id, delete_first_object), images)
    assert [r["status"] for r in rows] == ["error", "ok"]  # the run goes on: a row's problem, not the account's
    assert (rows[0]["error_code"], rows[0]["attempts"]) == ("ImageNotFound", 1)
    assert summary.api_calls == 2


def test_a_missing_object_is_an_error_row_without_any_call(cos):
    summary, rows = _run_runner(cos, TencentOcrHook(cos.conn_id), [f"cos://{cos.bucket}/inbox/absent.png"])
    assert (rows[0]["error_code"], summary.api_calls) == ("ImageNotFound", 0)


@pytest.mark.parametrize("code", ["FailedOperation.DownLoadError", "ResourceUnavailable.ImageDownloadError"])
def test_the_services_download_errors_are_one_rows_problem(code):
    assert classify(code) is ErrorKind.PER_IMAGE  # ResourceUnavailable.* used to stop the whole run


class _NamedAction(SingaporeFormat):
    """Rows under a registry action's name, sent to the Singapore endpoint (what the emulator recognises)."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.sent: list[list[str]] = []

    def action_of(self, row) -> str:
        return self.action

    def default_rate(self, action: str) -> float:
        return 20.0

    def recognise(self, recogniser, action, image, *, return_head_image):
        self.sent.append(sorted(image))
        return super().recognise(recogniser, action, image, return_head_image=return_head_image)


class _Regional:
    """The hook as the worker sees it, with the connection's region replaced."""

    def __init__(self, hook: TencentOcrHook, region: str) -> None:
        self._hook = hook
        self.config = dataclasses.replace(hook.config, region=region)

    def __getattr__(self, name: str):
        return getattr(self._hook, name)


@pytest.mark.parametrize(
    ("action", "region", "sent"),
    [
        ("HKIDCardOCR", "ap-singapore", "image_base64"),  # no ImageUrl outside the mainland: bytes instead
        ("MLIDPassportOCR", "ap-hongkong", "image_base64"),
        ("MLIDCardOCR", "ap-guangzhou", "image_url"),  # in the mainland it takes a URL
        ("RecognizeSingaporeIDCardOCR", "ap-singapore", "image_url"),
    ],
)
def test_actions_without_image_url_fall_back_to_sending_bytes(cos, caplog, action, region, sent):
    images = _put_images(cos, 2)
    document = _NamedAction(action)
    options = RunOptions(send_as="url", storage_conn_id=cos.conn_id, max_in_flight=1, progress_interval=60.0)
    runner = OcrRunner(_Regional(TencentOcrHook(cos.conn_id), region), options, document=document)
    sink = _Rows()
    summary = runner.run(manifest_from_images(images), sink)
    assert summary.ok == 2 and document.sent == [[sent], [sent]]
    assert [r["image_sha256"] is None for r in sink.rows] == [sent == "image_url"] * 2
    said = [r.getMessage() for r in caplog.records if "takes no ImageUrl" in r.getMessage()]
    assert said == (
        [
            f"{action} takes no ImageUrl outside the Chinese mainland (region {region}): its images "
            "are sent as bytes (send_as='base64') in this run"
        ]
        if sent == "image_base64"
        else []
    )


def test_send_as_url_presigns_s3_images_too(s3_env, tencent_ocr_emulator, tencent_ocr_conn_id):
    """s3:// through the Amazon provider's filesystem: the same presigning, with the storage connection."""
    data = make_png(6, 6, seed=42)
    tencent_ocr_emulator.recogniser.add(data, FIELDS)
    uri = s3_env.uri("inbox/card_s3.png")
    storage.write_bytes(uri, data, conn_id=s3_env.conn_id)
    signed = sign_image(uri, conn_id=s3_env.conn_id)
    assert signed.identity.startswith(f"s3://{s3_env.bucket}/inbox/card_s3.png#")
    sink = _Rows()
    options = RunOptions(send_as="url", storage_conn_id=s3_env.conn_id, max_in_flight=1, progress_interval=60.0)
    summary = OcrRunner(TencentOcrHook(tencent_ocr_conn_id), options).run(manifest_from_images([uri]), sink)
    assert summary.ok == 1 and sink.rows[0]["id_number"] == "S1234567D"
    assert sink.rows[0]["image_sha256"] is None and sink.rows[0]["image_uri"] == uri


def test_id_document_operator_on_cos_sends_url_or_bytes_by_action(cos, caplog):
    """A mixed manifest on COS with send_as="url": Singapore rows go as URLs, Hong Kong rows as bytes."""
    from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

    images = _put_images(cos, 4)
    actions = ["RecognizeSingaporeIDCardOCR", "HKIDCardOCR"] * 2
    for uri in images[1::2]:  # the Hong Kong rows' images answer as Hong Kong cards
        data = storage.read_bytes(uri, conn_id=cos.conn_id)
        hong_kong = {"EnName": "CHAN, Tai Man", "IdNum": "A123456(3)", "Sex": "Male", "Birthday": "15-06-1985"}
        cos.emulator.recogniser.add(data, hong_kong, action="HKIDCardOCR")
    base = f"cos://{cos.bucket}/mixed"
    csv = "image_uri,action\n" + "".join(f"{uri},{action}\n" for uri, action in zip(images, actions, strict=True))
    storage.write_bytes(f"{base}/manifest.csv", csv.encode(), conn_id=cos.conn_id)
    op = TencentOcrIdDocumentOperator(
        task_id="ocr",
        manifest=f"{base}/manifest.csv",
        action_column="action",
        output=f"{base}/ids.parquet",
        tencentcloud_conn_id=cos.conn_id,
        send_as="url",
        max_in_flight=2,
        progress_interval=60.0,
    )
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    rows = pq.read_table(io.BytesIO(storage.read_bytes(f"{base}/ids.parquet", conn_id=cos.conn_id))).to_pylist()
    assert result["ok"] == 4 and [r["action"] for r in rows] == actions
    # The worker read (and hashed) only the Hong Kong images: the service downloaded the others itself.
    assert [r["image_sha256"] is None for r in rows] == [True, False, True, False]
    assert [r.getMessage() for r in caplog.records if "takes no ImageUrl" in r.getMessage()] == [
        "HKIDCardOCR takes no ImageUrl outside the Chinese mainland (region ap-singapore): its images are sent "
        "as bytes (send_as='base64') in this run"
    ]
