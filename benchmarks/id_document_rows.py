"""How fast answers become id-document rows: parse, validate, common columns, row, writer dict.

Every manifest row pays this on the worker's thread beside the API call; it should stay far below
the per-action limits (5-20 requests/s) so it never paces a run. Answers are the emulator's
synthetic cards (valid numbers, every field), shaped as the service sends them.

    python benchmarks/id_document_rows.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import time

from airflow_provider_tencent_ocr.actions.registry import ACTIONS
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.rows.id_document import IdDocumentRow
from tencent_ocr_emulator import synthetic


def answers(action: str, count: int) -> list[dict]:
    out = []
    for i in range(count):
        digest = hashlib.sha256(f"{action}-{i}".encode()).hexdigest()
        fields = {k: str(v) for k, v in synthetic.answer(action, digest).items() if k in ACTIONS[action].output_fields}
        out.append(DocumentResult(action=action, fields=fields, request_id=digest[:36]).to_response())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="answers per action")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC)
    total_rows = total_seconds = 0.0
    print(f"{'action':40s} {'rows/s':>10s} {'us/row':>8s} {'valid':>6s} {'consistent':>10s}")
    for action, spec in ACTIONS.items():
        batch = answers(action, args.rows)
        valid = consistent = 0
        start = time.perf_counter()
        for i, response in enumerate(batch):
            result = DocumentResult.from_response(spec, response)
            row = IdDocumentRow.build(record_id=str(i), image_uri="x", result=result, ocr_at=now)
            row.to_dict()
            valid += row.number_valid is True
            consistent += row.number_consistent is True
        seconds = time.perf_counter() - start
        total_rows += len(batch)
        total_seconds += seconds
        print(
            f"{action:40s} {len(batch) / seconds:10.0f} {seconds / len(batch) * 1e6:8.1f} {valid:6d} {consistent:10d}"
        )
    print(f"{'all':40s} {total_rows / total_seconds:10.0f} {total_seconds / total_rows * 1e6:8.1f}")


if __name__ == "__main__":
    main()
