"""A mixed manifest of ID-document actions, interleaved, against the emulator with every action's limit.

Run: ``.venv/bin/python benchmarks/mixed_actions.py`` (about 25 s; ``--rows-per-action N``, default 100). The
emulator subprocess enforces each action's own per-account limit (Singapore 20/s, Thailand 10/s,
Malaysia and Indonesia 5/s, ...), as the service does. One ``TencentOcrIdDocumentOperator`` task
reads the manifest (its ``document_type`` column names each row's action) and paces every action
at its own limit at the same time. Ideal time: the slowest action's rows divided by its limit.

Targets (issue 15): 0 throttled rows, every row ok, run time <= ideal / 0.9.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))

from _common import emulator, png, stats, use_emulator  # noqa: E402

ACTIONS = (
    "RecognizeSingaporeIDCardOCR",
    "RecognizeThaiIDCardOCR",
    "MLIDCardOCR",
    "RecognizeIndonesiaIDCardOCR",
    "RecognizePhilippinesVoteIDOCR",
)


def write_mixed_manifest(folder: Path, rows_per_action: int) -> Path:
    """Rows interleaved by action (SG, TH, MY, ID, PH, SG, ...), one distinct image each."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "mixed.csv"
    with open(manifest, "w", encoding="utf-8") as fh:
        fh.write("record_id,image_uri,document_type\n")
        for i in range(rows_per_action * len(ACTIONS)):
            path = folder / f"card_{i:05d}.png"
            path.write_bytes(png(i))
            fh.write(f"r{i},{path},{ACTIONS[i % len(ACTIONS)]}\n")
    return manifest


def main() -> None:
    import types

    import pyarrow.parquet as pq

    from airflow_provider_tencent_ocr.actions.registry import ACTIONS as REGISTRY
    from airflow_provider_tencent_ocr.operators.id_document import TencentOcrIdDocumentOperator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-per-action", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=100, help="emulator answer latency")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    manifest = write_mixed_manifest(tmp / "img", args.rows_per_action)
    output = tmp / "documents.parquet"
    with emulator("--latency-ms", str(args.latency_ms)) as endpoint:  # every action's own limit
        use_emulator(endpoint)
        op = TencentOcrIdDocumentOperator(
            task_id="mixed",
            manifest=str(manifest),
            action_column="document_type",
            output=str(output),
            cache="none",
            progress_interval=5.0,
        )
        started = time.monotonic()
        summary = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        seconds = time.monotonic() - started
        seen = stats(endpoint)
    rows = pq.read_table(output, columns=["status", "error_code", "action", "ocr_at"]).to_pylist()
    counts = collections.Counter(r["action"] for r in rows)
    ideal = max(counts[a] / REGISTRY[a].default_rps for a in counts)
    slowest = max(counts, key=lambda a: counts[a] / REGISTRY[a].default_rps)
    throttled_rows = sum(1 for r in rows if (r["error_code"] or "").startswith("RequestLimitExceeded"))
    first = min(r["ocr_at"] for r in rows)
    print(f"\nmixed manifest: {len(rows)} rows, {len(counts)} actions interleaved; latency {args.latency_ms} ms")
    print(f"{'action':36} {'rows':>5} {'limit/s':>8} {'done after s':>13}")
    for action in ACTIONS:
        done = (max(r["ocr_at"] for r in rows if r["action"] == action) - first).total_seconds()
        print(f"{action:36} {counts[action]:>5} {REGISTRY[action].default_rps:>8g} {done:>13.1f}")
    print(f"rows ok: {summary['ok']}/{summary['rows']} (target: all)")
    print(f"throttled rows: {throttled_rows} (target 0); throttle answers retried: {summary['retries']['throttled']}")
    print(f"API calls: {summary['api_calls']} (emulator billed {seen['billed']})")
    print(
        f"run time: {seconds:.1f} s; ideal {ideal:.1f} s ({counts[slowest]} {slowest} rows at "
        f"{REGISTRY[slowest].default_rps:g}/s); ratio {seconds / ideal:.3f} (target <= {1 / 0.9:.3f})"
    )


if __name__ == "__main__":
    main()
