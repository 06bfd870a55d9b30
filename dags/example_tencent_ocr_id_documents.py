"""Producer DAG: OCR a mixed manifest of ID documents (Singapore IC, MyKad, passports...) into one table.

Each manifest row names its API action in the ``action`` column; every action is paced at its own
per-account limit at the same time, and the rows are written in manifest order into one
id-document Parquet table (the ``action`` column says which action read each row). A row whose
action is empty or unknown becomes an ``UnsupportedAction`` error row; the task goes on.

By default it runs against the local emulator started by ``scripts/demo.sh``: the manifest is
``$TENCENT_OCR_DEMO_OUTPUT_DIR/documents/manifest.csv`` (written by the emulator's card generator)
and the table ``$TENCENT_OCR_DEMO_OUTPUT_DIR/id_documents.parquet``.
"""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

OUTPUT_DIR = os.environ.get("TENCENT_OCR_DEMO_OUTPUT_DIR", "/tmp/tencent_ocr_demo")

with DAG(
    dag_id="example_tencent_ocr_id_documents",
    schedule=None,
    catchup=False,
    tags=["example", "tencent", "ocr"],
    doc_md=__doc__,
):
    # [START howto_operator_tencent_ocr_id_documents]
    TencentOcrIdDocumentOperator(
        task_id="recognise_id_documents",
        manifest=f"{OUTPUT_DIR}/documents/manifest.csv",
        id_column="record_id",
        action_column="action",  # e.g. RecognizeSingaporeIDCardOCR, MLIDCardOCR, MLIDPassportOCR
        carry_columns=["side"],
        output=f"{OUTPUT_DIR}/id_documents.parquet",
        cache=f"{OUTPUT_DIR}/ocr-cache",  # shared with the Singapore producers: an image is paid for once per action
        # Each action's documented limit applies by default; lower one where the account shares it.
        max_requests_per_second={"MLIDCardOCR": 4.0},
        pii="mask",
        max_error_rate=0.5,
    )
    # [END howto_operator_tencent_ocr_id_documents]
