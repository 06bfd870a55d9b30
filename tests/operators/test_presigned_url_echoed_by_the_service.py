"""A service error message that quotes the presigned URL it was sent keeps none of its signature.

The docs promise the presigned URL is in no error message or output. The real service's messages may
quote the ``ImageUrl`` (a proxy's or a future version's may too): here a loopback server answers every
call with an error whose message echoes it; moto stands in for COS.
"""

from __future__ import annotations

import collections
import json
import types

import pyarrow.parquet as pq
import pytest
from helpers import make_png
from hostile_http import hostile_server, send_json
from s3_server import cos_connection

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

SIGNATURE_MARKS = ("X-Amz-Signature", "X-Amz-Credential", "AKIDcosTEST")


@pytest.mark.parametrize("code", ["FailedOperation.DownLoadError", "FailedOperation.UnKnowError"])
def test_a_service_message_quoting_the_presigned_url_is_redacted(s3, cos_bucket, tmp_path, monkeypatch, code):
    def answer(handler):
        url = json.loads(handler.body).get("ImageUrl", "")
        send_json(
            handler, {"Response": {"Error": {"Code": code, "Message": f"download failed: {url}"}, "RequestId": "r1"}}
        )

    # An id of its own per moto server: Airflow keeps a filesystem per connection id for the process's
    # life, and another module's "kyc_ocr" points at its (stopped) moto.
    conn_id = f"kyc_ocr_echo_{s3.endpoint.rsplit(':', 1)[1]}"
    with hostile_server(answer) as server:
        env = cos_connection(server.endpoint, cos_endpoint=s3.endpoint, conn_id=conn_id)
        monkeypatch.setenv(*next(iter(env.items())))
        storage.write_bytes(f"cos://{cos_bucket}/inbox/a.png", make_png(6, 6, seed=1), conn_id=conn_id)
        manifest = tmp_path / "m.csv"
        manifest.write_text(f"image_uri\ncos://{cos_bucket}/inbox/a.png\n")
        op = TencentOcrIdDocumentOperator(
            task_id="ocr",
            manifest=str(manifest),
            output=str(tmp_path / "out.parquet"),
            action="RecognizeThaiIDCardOCR",
            tencentcloud_conn_id=conn_id,
            send_as="url",
            max_attempts=2,
            progress_interval=60.0,
        )
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    (row,) = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert row["error_code"] == code and "inbox/a.png" in row["error_message"]  # still names the object
    assert not [mark for mark in SIGNATURE_MARKS if mark in row["error_message"]]
