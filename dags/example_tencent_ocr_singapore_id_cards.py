"""Producer DAG: OCR a manifest of Singapore ID-card images into one Parquet table (an Asset).

By default it runs against the local emulator started by ``scripts/demo.sh``: the manifest is
``$TENCENT_OCR_DEMO_OUTPUT_DIR/cards/manifest.csv`` and the table
``$TENCENT_OCR_DEMO_OUTPUT_DIR/singapore_id_cards.parquet``. Point the ``tencentcloud_default``
connection at the real service and the manifest at your own images for a real run.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

OUTPUT_DIR = os.environ.get("TENCENT_OCR_DEMO_OUTPUT_DIR", "/tmp/tencent_ocr_demo")

with DAG(
    dag_id="example_tencent_ocr_singapore_id_cards",
    schedule=None,
    catchup=False,
    tags=["example", "tencent", "ocr"],
    doc_md=__doc__,
):
    TencentOcrSingaporeIdCardOperator(
        task_id="recognise_id_cards",
        manifest=f"{OUTPUT_DIR}/cards/manifest.csv",
        id_column="record_id",
        carry_columns=["side"],
        output=f"{OUTPUT_DIR}/singapore_id_cards.parquet",
        # One result cache for every producer of these images (the sharded example uses it too), so the
        # same image is never paid for twice, whichever DAG reads it first; tasks share it safely.
        cache=f"{OUTPUT_DIR}/ocr-cache",
        tencentcloud_conn_id="tencentcloud_default",
        max_error_rate=0.5,
    )
