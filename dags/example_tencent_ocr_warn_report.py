"""Consumer DAG: a warn-code report each time the OCR producer updates its Parquet Asset.

The producer (``example_tencent_ocr_singapore_id_cards``) writes
``$TENCENT_OCR_DEMO_OUTPUT_DIR/singapore_id_cards.parquet`` and emits the Asset below; this DAG
writes ``warn_report.json``, ``warn_report.md`` and ``warn_rates.png`` to ``$DIR/report/``. It also
runs when the sharded producer (``example_tencent_ocr_sharded``) publishes its dataset folder, and
then reports over every part file of that folder, and when the mixed-document producer
(``example_tencent_ocr_id_documents``) updates its table: that report (in ``$DIR/report/id_documents/``)
breaks down by action as well.
Heavy libraries are imported inside the task so the file parses in milliseconds.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from airflow.sdk import DAG, Asset, task

OUTPUT_DIR = os.environ.get("TENCENT_OCR_DEMO_OUTPUT_DIR", "/tmp/tencent_ocr_demo")
PARQUET_PATH = f"{OUTPUT_DIR}/singapore_id_cards.parquet"
# Same normalisation as the operator's output_asset(), so both DAGs name the same Asset.
OCR_ASSET = Asset("file://" + posixpath.abspath(PARQUET_PATH))
# The sharded producer's dataset folder (its part files read as one table).
SHARDED_PATH = f"{OUTPUT_DIR}/singapore_id_cards_sharded/"
SHARDED_ASSET = Asset("file://" + posixpath.abspath(SHARDED_PATH))  # named by its URI, as output_asset() does
# The mixed-document producer's table (one action per row).
ID_DOCUMENTS_PATH = f"{OUTPUT_DIR}/id_documents.parquet"
ID_DOCUMENTS_ASSET = Asset("file://" + posixpath.abspath(ID_DOCUMENTS_PATH))


def _triggered_by(triggering_asset_events: Any, *assets: Asset) -> list[Any]:
    """The triggering events of these assets, matched on the URI whatever name the producer gave it."""
    uris = {asset.uri for asset in assets}
    events: list[Any] = []
    for asset in triggering_asset_events or ():
        if getattr(asset, "uri", None) in uris:
            events.extend(triggering_asset_events[asset])
    return events


def _parquet_from_events(triggering_asset_events: Any) -> str | None:
    """The Parquet (file or dataset folder) named by the latest triggering event; ``None`` on a manual run."""
    if not triggering_asset_events:
        return None
    events = _triggered_by(triggering_asset_events, OCR_ASSET, SHARDED_ASSET, ID_DOCUMENTS_ASSET)
    if not events:
        return None
    extra = getattr(events[-1], "extra", None) or {}
    # A producer may name the exact file (e.g. a versioned one) in the event's extra.
    for key in ("parquet_uri", "uri", "path"):
        if isinstance(extra.get(key), str) and extra[key]:
            return extra[key]
    return PARQUET_PATH  # the asset's own file, as a local path


with DAG(
    dag_id="example_tencent_ocr_warn_report",
    schedule=(OCR_ASSET | SHARDED_ASSET | ID_DOCUMENTS_ASSET),
    catchup=False,
    tags=["example", "tencent", "ocr"],
    doc_md=__doc__,
):

    @task(multiple_outputs=False)  # one XCom holding the whole small report
    def warn_report(triggering_asset_events: Any = None) -> dict[str, Any]:
        """Build the report; returns counts and rates only (no personal data) for XCom."""
        from airflow_provider_tencent_ocr.report import build_warn_report, format_summary

        parquet_uri = _parquet_from_events(triggering_asset_events) or PARQUET_PATH
        mixed = bool(_triggered_by(triggering_asset_events, ID_DOCUMENTS_ASSET))  # its report: by action too
        report = build_warn_report(parquet_uri, f"{OUTPUT_DIR}/report" + ("/id_documents" if mixed else ""))
        print(format_summary(report))
        return report

    warn_report()
