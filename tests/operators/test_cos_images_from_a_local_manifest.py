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
