"""The emulator as an overloaded service: bounded capacity, quick EngineRecognizeTimeout, nothing billed twice.

Two scenarios through the provider's runner (hook timeout 30 s, default concurrency):

- ``local``: the offline OCR engine (capacity = its worker processes) over generated cards, with
  and without a CPU-heavy process running alongside (the busy 2-core machine of issue 9);
- ``slow``: a service that recognises one image at a time in 2.5 s (``--capacity 1
  --latency-ms 2500``) and refuses what cannot start within ``--queue-timeout`` seconds.

Reports rows ok / error rows, recognitions billed per image, EngineRecognizeTimeout answers,
requests abandoned by their client before they started, and wall time.

    .venv/bin/python benchmarks/emulator_overload.py [--cards 20] [--images 24] [--hog]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator, run_ocr, stats, use_emulator, write_manifest  # noqa: E402


def _measure(name: str, flags: list[str], manifest: Path, work: Path) -> dict[str, Any]:
    with emulator(*flags) as endpoint:
        use_emulator(endpoint, timeout=None)  # the hook's default read timeout, 30 s
        summary, seconds = run_ocr(manifest, work / f"{name}.parquet", None)
        seen = stats(endpoint)
    result = summary.to_dict()
    rows = result["rows"]
    return {
        "scenario": name,
        "rows": rows,
        "ok": result.get("ok"),
        "errors": result.get("errors"),
        "billed": seen["billed"],
        "billed_per_image": round(seen["billed"] / max(1, len(seen["images"]) or rows), 2),
        "engine_timeouts": seen["codes"].get("FailedOperation.EngineRecognizeTimeout", 0),
        "abandoned": seen["abandoned"],
        "max_recognising": seen["max_recognising"],
        "retries": result.get("retries"),
        "seconds": round(seconds, 1),
    }


def _cards(folder: Path, n: int, seed: int) -> Path:
    """Generated cards; their truth manifest already has ``record_id`` and absolute ``image_uri``."""
    from tencent_ocr_emulator.cards import generate_cards

    return generate_cards(folder, n, seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=20, help="generated cards for the local scenario (0: skip)")
    parser.add_argument("--images", type=int, default=24, help="images for the slow scenario (0: skip)")
    parser.add_argument("--queue-timeout", type=float, default=5.0)
    parser.add_argument("--hog", action="store_true", help="also run the local scenario beside a CPU-heavy process")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="emulator-overload-") as tmp:
        work = Path(tmp)
        queue = ["--queue-timeout", str(args.queue_timeout), "--rate-limit", "20"]
        if args.images:
            manifest = write_manifest(work / "slow", args.images, args.images)
            flags = ["--capacity", "1", "--latency-ms", "2500", *queue]
            results.append(_measure("slow (1 at a time, 2.5 s)", flags, manifest, work))
        if args.cards:
            manifest = _cards(work / "cards", args.cards, seed=11)
            results.append(_measure("local engine", ["--recogniser", "local", *queue], manifest, work))
            if args.hog:
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                try:
                    time.sleep(0.5)
                    results.append(
                        _measure("local engine + CPU hog", ["--recogniser", "local", *queue], manifest, work)
                    )
                finally:
                    hog.kill()
                    hog.wait()
    for result in results:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
