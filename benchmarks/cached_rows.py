"""Rows that need no call: a rerun over a manifest whose images are all in the cache, and repeated rows.

Issue 16's figure: a rerun of 100,000 rows over 100 cached images (every row repeats an image already
recognised), in rows per second, with the peak RSS, so the cost of the runner's own path (manifest,
image identity, cache lookup, row building, Parquet writing) is measured without any API call.

The first pass fills the cache from the emulator (100 calls); the measured pass is a fresh runner,
as a rerun of the task would be, and must bill nothing.

Run: .venv/bin/python benchmarks/cached_rows.py [--rows 100000] [--unique 100]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator, run_ocr, stats, use_emulator, write_manifest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--unique", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the measured pass")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, emulator("--rate-limit", "1000") as endpoint:
        use_emulator(endpoint)
        folder = Path(tmp)
        cache = folder / "cache"
        warm = write_manifest(folder, args.unique, args.unique)
        first, _ = run_ocr(warm, folder / "warm.parquet", cache, max_requests_per_second=1000, progress_interval=600)
        billed_before = stats(endpoint)["billed"]
        manifest = write_manifest(folder, args.rows, args.unique)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        summary, seconds = run_ocr(manifest, folder / "rerun.parquet", cache, progress_interval=600)
        if args.profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        billed = stats(endpoint)["billed"] - billed_before
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"warm-up: {first.ok}/{first.rows} ok, {first.api_calls} calls")
    print(
        f"rerun: {summary.rows} rows over {args.unique} cached images, {summary.ok} ok, billed {billed}, "
        f"{seconds:.1f} s = {summary.rows / seconds:,.0f} rows/s; peak RSS {rss / 1024:.0f} MiB "
        f"(before the rerun {rss_before / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
