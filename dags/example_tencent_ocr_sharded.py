"""Sharded producer DAG: one large manifest, N mapped OCR tasks, one Parquet dataset folder (an Asset).

``TencentOcrSingaporeIdCardOperator.partial(shard_count=N, ...).expand(shard_index=range(N))``
runs N task instances (on as many workers as the executor has); instance ``i`` writes
``part-0000i-of-0000N.parquet`` into the folder. The ``publish`` task then checks that every part
is there and that they add up to the manifest, and only then emits the folder's Asset event, so
consumers (the warn report DAG) never see a half-written dataset. Read the folder with DuckDB
(``read_parquet('<folder>/*.parquet')``) or pyarrow.

Settings come from environment variables so the same file serves the demo and the Celery
deployment script (``scripts/celery_deployment.sh``): ``TENCENT_OCR_DEMO_OUTPUT_DIR`` (manifest at
``cards/manifest.csv``, dataset at ``singapore_id_cards_sharded/``), ``TENCENT_OCR_SHARDS`` (8),
``TENCENT_OCR_POOL`` (``default_pool``; the deployment uses a ``tencent_ocr`` pool whose slots
bound the tasks sharing the account), ``TENCENT_OCR_SHARD_RATE`` (requests per second per task; 20 by default, tasks
sharing the account back off on throttling answers).

Trigger it with parameters to run it on your own images: ``manifest`` (with ``record_id``,
``image_uri`` and ``side`` columns, as in the demo), ``output`` (the dataset folder) and ``cache``.
The Asset is the demo's folder; each event's ``extra`` names the folder a run wrote.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator, output_asset

OUTPUT_DIR = os.environ.get("TENCENT_OCR_DEMO_OUTPUT_DIR", "/tmp/tencent_ocr_demo")
MANIFEST = f"{OUTPUT_DIR}/cards/manifest.csv"
DATASET = f"{OUTPUT_DIR}/singapore_id_cards_sharded/"
SHARDS = int(os.environ.get("TENCENT_OCR_SHARDS", "8"))
POOL = os.environ.get("TENCENT_OCR_POOL", "default_pool")
RATE = float(os.environ.get("TENCENT_OCR_SHARD_RATE", "20"))
DATASET_ASSET = output_asset(DATASET)  # file:///.../singapore_id_cards_sharded/

with DAG(
    dag_id="example_tencent_ocr_sharded",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["example", "tencent", "ocr"],
    doc_md=__doc__,
    params={
        "manifest": Param(MANIFEST, type="string", description="Path or URI of the manifest to split into shards."),
        "output": Param(DATASET, type="string", description="The dataset folder the parts are written into."),
        # Shared with the single-task example: an image is paid for once.
        "cache": Param(f"{OUTPUT_DIR}/ocr-cache", type="string", description="Result cache folder."),
    },
):
    recognise = TencentOcrSingaporeIdCardOperator.partial(
        task_id="recognise_shard",
        manifest="{{ params.manifest }}",
        id_column="record_id",
        carry_columns=["side"],
        output="{{ params.output }}",
        cache="{{ params.cache }}",
        shard_count=SHARDS,
        pool=POOL,
        max_requests_per_second=RATE,
        max_error_rate=0.5,
        # A lost worker: the scheduler fails the attempt, the retry reads what was paid for from the cache.
        retries=3,
        retry_delay=timedelta(seconds=5),
    ).expand(shard_index=list(range(SHARDS)))

    @task(outlets=[DATASET_ASSET])
    def publish(*, params: Any = None, outlet_events: Any = None) -> dict[str, Any]:
        """Check every part is there and they add up to the manifest, then emit the dataset's Asset event."""
        from airflow_provider_tencent_ocr.io.manifest import open_manifest
        from airflow_provider_tencent_ocr.shards import check_parts

        manifest, dataset = params["manifest"], params["output"]
        expected = open_manifest(manifest, id_column="record_id", carry_columns=["side"]).count_rows()
        summary = check_parts(dataset, SHARDS, expected_rows=expected)
        outlet_events[DATASET_ASSET].extra = {"uri": dataset, "rows": summary["rows"], "parts": SHARDS}
        return summary

    recognise >> publish()
