"""Producer DAG: OCR a manifest of Singapore ID-card images into one Parquet table (an Asset).

By default it runs against the local emulator started by ``scripts/demo.sh``: the manifest is
``$TENCENT_OCR_DEMO_OUTPUT_DIR/cards/manifest.csv`` and the table
``$TENCENT_OCR_DEMO_OUTPUT_DIR/singapore_id_cards.parquet``. Point the ``tencentcloud_default``
connection at the real service for a real run.

To run it on your own images, trigger it with parameters (the Trigger dialog shows a form):
``manifest`` (path or URI of a CSV, Parquet or JSON Lines file with an ``image_uri`` column),
``output`` (the Parquet table to write), ``cache`` (the result cache folder, ``none`` to disable),
``id_column`` (empty for row numbers) and ``carry_columns`` (manifest columns to copy). The Asset
event then names the file written in its ``extra`` (the warn report DAG reads it from there).
"""

from __future__ import annotations

import os

from airflow.sdk import DAG, Param

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator, output_asset

OUTPUT_DIR = os.environ.get("TENCENT_OCR_DEMO_OUTPUT_DIR", "/tmp/tencent_ocr_demo")
OUTPUT = f"{OUTPUT_DIR}/singapore_id_cards.parquet"

with DAG(
    dag_id="example_tencent_ocr_singapore_id_cards",
    schedule=None,
    catchup=False,
    tags=["example", "tencent", "ocr"],
    doc_md=__doc__,
    render_template_as_native_obj=True,  # carry_columns stays a list, id_column may be None
    params={
        "manifest": Param(
            f"{OUTPUT_DIR}/cards/manifest.csv",
            type="string",
            description="Path or URI of the manifest (CSV, Parquet or JSON Lines) with an image_uri column.",
        ),
        "output": Param(OUTPUT, type="string", description="Path or URI of the Parquet table to write."),
        # One result cache for every producer of these images (the sharded example uses it too), so the
        # same image is never paid for twice, whichever DAG reads it first; tasks share it safely.
        "cache": Param(
            f"{OUTPUT_DIR}/ocr-cache",
            type="string",
            description='Result cache folder, shared safely between tasks ("none" disables it).',
        ),
        "id_column": Param(
            "record_id", type=["null", "string"], description="Manifest column used as record_id (empty: row numbers)."
        ),
        "carry_columns": Param(
            ["side"], type="array", description="Manifest columns copied into the output (may be empty)."
        ),
    },
):
    TencentOcrSingaporeIdCardOperator(
        task_id="recognise_id_cards",
        manifest="{{ params.manifest }}",
        id_column="{{ params.id_column }}",
        carry_columns="{{ params.carry_columns }}",
        output="{{ params.output }}",
        cache="{{ params.cache }}",
        # The Asset is the demo's table; each event's extra names the file a run wrote.
        outlets=[output_asset(OUTPUT)],
        tencentcloud_conn_id="tencentcloud_default",
        max_error_rate=0.5,
    )
