"""cos:// images listed in a local manifest use the OCR connection, as the docs promise for cos://.

Only the images are on COS here (manifest and output are local), and the connection is not
``tencentcloud_default``: the images must still be read (or presigned) with that connection, not
fail row by row looking for ``tencentcloud_default``. moto stands in for COS, the emulator for OCR.
"""

from __future__ import annotations

import collections
import json
import types

import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import make_png
from s3_server import cos_connection

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

ACTIONS = ["RecognizeSingaporeIDCardOCR", "MLIDCardOCR", "RecognizeThaiIDCardOCR"]


@pytest.mark.parametrize("send_as", ["base64", "url"])
def test_cos_images_in_a_local_manifest_use_the_ocr_connection(
    s3, cos_bucket, tencent_ocr_emulator, monkeypatch, tmp_path, send_as
):
    monkeypatch.delenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", raising=False)
    env = cos_connection(tencent_ocr_emulator.endpoint, cos_endpoint=s3.endpoint, conn_id="kyc_ocr")
    conn = json.loads(next(iter(env.values())))
    conn["login"], conn["password"] = tencent_ocr_emulator.secret_id, tencent_ocr_emulator.secret_key
    monkeypatch.setenv(next(iter(env)), json.dumps(conn))
    uris = []
    for seed in range(len(ACTIONS)):
        uri = f"cos://{cos_bucket}/inbox/card_{seed}.png"
        storage.write_bytes(uri, make_png(6, 6, seed=seed), conn_id="kyc_ocr")
        uris.append(uri)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("image_uri,kind\n" + "".join(f"{u},{a}\n" for u, a in zip(uris, ACTIONS, strict=True)))
    op = TencentOcrIdDocumentOperator(
        task_id="ocr",
        manifest=str(manifest),
        output=str(tmp_path / "out.parquet"),
        action_column="kind",
        tencentcloud_conn_id="kyc_ocr",  # no storage_conn_id: cos:// uses this connection
        send_as=send_as,
        progress_interval=60.0,
    )
    result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [(r["image_uri"], r["status"], r["error_code"]) for r in rows] == [(u, "ok", None) for u in uris]
    assert result["ok"] == len(ACTIONS)
    assert tencent_ocr_emulator.stats.actions == dict.fromkeys(ACTIONS, 1)


@pytest.mark.parametrize("send_as", ["base64", "url"])
def test_a_storage_connection_that_does_not_exist_fails_the_task_not_each_row(
    s3, cos_bucket, tencent_ocr_emulator, tencent_ocr_conn_id, tmp_path, send_as
):
    # Was: every row an ImageDownloadFailed error row ("install ...[cos]" for base64, retried for
    # url) and the task succeeded, a configuration failure that looked like success.
    uri = f"cos://{cos_bucket}/inbox/card.png"
    s3.client().put_object(Bucket=cos_bucket, Key="inbox/card.png", Body=make_png(6, 6, seed=1))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"image_uri\n{uri}\n{uri}\n{uri}\n")
    output = tmp_path / "out.parquet"
    op = TencentOcrIdDocumentOperator(
        task_id="ocr",
        manifest=str(manifest),
        output=str(output),
        action="RecognizeThaiIDCardOCR",
        storage_conn_id="no_such_storage_conn",
        send_as=send_as,
        progress_interval=60.0,
    )
    with pytest.raises(AirflowFailException, match="no_such_storage_conn") as caught:
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    assert "install" not in str(caught.value)
    assert not output.exists() and tencent_ocr_emulator.stats.requests == 0


@pytest.mark.parametrize("send_as", ["base64", "url"])
def test_an_object_uri_without_bucket_or_key_is_that_rows_clear_error(
    s3, cos_bucket, tencent_ocr_emulator, monkeypatch, tmp_path, send_as
):
    # Was: "cannot be opened (...): install airflow-provider-tencent-ocr[cos]" (installed already), or a
    # retried EndpointConnectionError for a URI that names no bucket.
    env = cos_connection(tencent_ocr_emulator.endpoint, cos_endpoint=s3.endpoint, conn_id="kyc_ocr")
    conn = json.loads(next(iter(env.values())))
    conn["login"], conn["password"] = tencent_ocr_emulator.secret_id, tencent_ocr_emulator.secret_key
    monkeypatch.setenv(next(iter(env)), json.dumps(conn))
    bad = ["cos:///inbox/card.png", f"cos://{cos_bucket}/", f"cos://{cos_bucket}", "s3://"]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("image_uri\n" + "".join(f"{uri}\n" for uri in bad))
    op = TencentOcrIdDocumentOperator(
        task_id="ocr",
        manifest=str(manifest),
        output=str(tmp_path / "out.parquet"),
        action="RecognizeThaiIDCardOCR",
        tencentcloud_conn_id="kyc_ocr",
        send_as=send_as,
        progress_interval=60.0,
    )
    op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [(r["error_code"], r["attempts"]) for r in rows] == [("InvalidManifestRow", 0)] * len(bad)
    assert all("give scheme://bucket/key" in r["error_message"] for r in rows)
    assert not any("install" in r["error_message"] for r in rows)
    assert tencent_ocr_emulator.stats.requests == 0
