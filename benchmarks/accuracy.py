"""Accuracy of the local OCR engine on generated cards: one Markdown table.

    python benchmarks/accuracy.py [--n 240] [--seed 2024] [--direct]

Generates a fixed-seed set of synthetic Singapore ID cards (front and back, half of them
degraded) into a temporary folder, sends every image through the emulator (local recogniser)
and the hook, exactly as a DAG would, and compares the answers with the truth manifest:
per-field exact match on clean and degraded images, precision and recall per warn code, and
seconds per image. ``--direct`` skips HTTP and calls the recogniser's worker pool directly.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from airflow_provider_tencent_ocr.actions.singapore_id_card import BACK_FIELDS, FRONT_FIELDS, RESPONSE_FIELDS
from tencent_ocr_emulator.cards import expected_warn_codes, generate_cards, read_manifest
from tencent_ocr_emulator.local_engine import LocalRecogniser

WARN_NAMES = {-9101: "covered", -9102: "photocopy", -9107: "reflective", -9108: "blurry"}
# The synthetic backs print no expiry date (a citizen's NRIC has none), so it is not scored.
SCORED = {"front": FRONT_FIELDS, "back": tuple(f for f in BACK_FIELDS if f != "DateOfExpiration")}


def run_direct(recogniser: LocalRecogniser, images: list[bytes]) -> list[tuple[dict[str, str], list[int], float]]:
    futures = [recogniser.submit(image) for image in images]
    return [(o.fields, o.warn_codes, o.seconds) for o in (f.result() for f in futures)]


def run_hook(recogniser: LocalRecogniser, images: list[bytes]) -> list[tuple[dict[str, str], list[int], float]]:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))
    from airflow_provider_tencent_ocr.errors import TencentCloudAPIError
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from tencent_ocr_emulator.server import EmulatorServer

    with EmulatorServer(recogniser=recogniser, rate_limit=0) as emulator:
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
        hook = TencentOcrHook()

        def one(image: bytes) -> tuple[dict[str, str], list[int], float]:
            started = time.perf_counter()
            try:
                result = hook.recognize_singapore_id_card(image_base64=base64.b64encode(image).decode())
            except TencentCloudAPIError:
                return {}, [], time.perf_counter() - started
            fields = {key: getattr(result, column) for key, column in RESPONSE_FIELDS.items()}
            return fields, list(result.warn_codes), time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=recogniser.workers) as pool:  # no queueing: latency is real
            return list(pool.map(one, images))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=240)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--direct", action="store_true", help="call the worker pool, not emulator + hook")
    parser.add_argument("--workers", type=int, default=None, help="OCR processes (default: one per core)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cards-") as tmp:
        manifest = generate_cards(tmp, args.n, args.seed)
        rows = read_manifest(manifest)
        images = [Path(row["image_uri"]).read_bytes() for row in rows]
        recogniser = LocalRecogniser(workers=args.workers, warm=True)
        try:
            started = time.perf_counter()
            results = (run_direct if args.direct else run_hook)(recogniser, images)
            wall = time.perf_counter() - started
        finally:
            recogniser.close()

    exact: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    latency: dict[str, list[float]] = defaultdict(list)
    counts = {code: [0, 0, 0] for code in WARN_NAMES}  # true positives, false positives, false negatives
    for row, (fields, codes, seconds) in zip(rows, results, strict=True):
        kind = "degraded" if row["degradations"] else "clean"
        latency[kind].append(seconds)
        for key in SCORED[row["side"]]:
            score = exact[(key, kind)]
            score[0] += fields.get(key, "") == row[f"truth_{RESPONSE_FIELDS[key]}"]
            score[1] += 1
        expected = set(expected_warn_codes(row))
        for code, (tp_fp_fn) in counts.items():
            got, want = code in codes, code in expected
            tp_fp_fn[0 if got and want else 1 if got else 2] += got or want

    def pct(key: str, kind: str) -> str:
        ok, n = exact.get((key, kind), (0, 0))
        return f"{100 * ok / n:.1f}% ({ok}/{n})" if n else "-"

    mode = "direct" if args.direct else "emulator + hook"
    print(f"local OCR accuracy: n={args.n} seed={args.seed}, {recogniser.workers} workers, {mode}")
    print()
    print("| measure | clean | degraded |")
    print("|---|---|---|")
    for key in (*FRONT_FIELDS, *SCORED["back"]):
        print(f"| `{RESPONSE_FIELDS[key]}` exact match | {pct(key, 'clean')} | {pct(key, 'degraded')} |")
    for code, (tp, fp, fn) in counts.items():
        precision = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
        recall = f"{tp / (tp + fn):.2f}" if tp + fn else "-"
        print(
            f"| {code} {WARN_NAMES[code]}: precision / recall (all images) | {precision} / {recall} "
            f"| tp {tp}, fp {fp}, fn {fn} |"
        )
    mean = {k: sum(v) / len(v) if v else 0.0 for k, v in latency.items()}
    print(f"| seconds per image: latency (mean) | {mean.get('clean', 0):.2f} | {mean.get('degraded', 0):.2f} |")
    print(f"| seconds per image: throughput, all {len(rows)} images | {wall / max(1, len(rows)):.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
