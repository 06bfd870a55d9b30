"""Throughput, memory, chaos and kill -9 resume against the local emulator (issue 4).

Run: ``.venv/bin/python benchmarks/throughput.py`` (about 6 minutes on 2 cores; ``--quick`` for a
smaller smoke run). Prints one table. Every scenario talks to an emulator subprocess on loopback.
Several tasks on one account, an overloaded service and the issue-9 chaos mix are in
``benchmarks/contention.py``.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))

from _common import emulator, run_ocr, stats, use_emulator, write_manifest  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []


def record(scenario: str, measure: str, value: str, target: str) -> None:
    ROWS.append((scenario, measure, value, target))
    print(f"  {scenario}: {measure} = {value} (target {target})", flush=True)


def at_limit(tmp: Path, images: int, baseline_images: int) -> None:
    import pyarrow.parquet as pq

    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook

    manifest = write_manifest(tmp / "limit20", images, images)
    with emulator("--rate-limit", "20", "--latency-ms", "500") as endpoint:
        use_emulator(endpoint)
        summary, seconds = run_ocr(manifest, tmp / "limit20.parquet", None, max_requests_per_second=20)
        billed = stats(endpoint)["billed"]
        table = pq.read_table(tmp / "limit20.parquet", columns=["status", "error_code"]).to_pylist()
        throttled_rows = sum(1 for r in table if (r["error_code"] or "").startswith("RequestLimitExceeded"))
        rate = billed / seconds
        record("1. 20/s, 500 ms", f"achieved/limit ({images} images)", f"{rate / 20:.3f} ({rate:.2f}/s)", ">= 0.95")
        record("1. 20/s, 500 ms", "RequestLimitExceeded rows", str(throttled_rows), "0")
        record("1. 20/s, 500 ms", "rows ok", f"{summary.ok}/{summary.rows}", "all")

        hook = TencentOcrHook()
        import base64

        started = time.monotonic()
        for i in range(baseline_images):
            data = (tmp / "limit20" / f"img{i}.png").read_bytes()
            hook.recognize_singapore_id_card(image_base64=base64.b64encode(data).decode())
        base = baseline_images / (time.monotonic() - started)
        record("1. 20/s, 500 ms", f"baseline: sequential hook loop ({baseline_images} images)", f"{base:.2f}/s", "-")


def fast_limit(tmp: Path, images: int) -> None:
    manifest = write_manifest(tmp / "limit300", images, images)
    with emulator("--rate-limit", "300", "--latency-ms", "20") as endpoint:
        use_emulator(endpoint)
        summary, seconds = run_ocr(
            manifest, tmp / "limit300.parquet", None, max_requests_per_second=300, max_in_flight=24
        )
        rate = stats(endpoint)["billed"] / seconds
        record("2. 300/s, 20 ms", f"achieved/limit ({images} images)", f"{rate / 300:.3f} ({rate:.1f}/s)", ">= 0.9")
        record("2. 300/s, 20 ms", "rows ok", f"{summary.ok}/{summary.rows}", "all")


_RSS_CHILD = """
import os, resource, sys
sys.path.insert(0, {bench!r})
from _common import run_ocr, use_emulator
from pathlib import Path
use_emulator({endpoint!r})
summary, seconds = run_ocr(Path({manifest!r}), Path({output!r}), Path({cache!r}), max_requests_per_second=1000,
                           max_in_flight=8)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, summary.rows, summary.ok, round(seconds, 1))
"""


def memory(tmp: Path, small: int, large: int, unique: int) -> None:
    folder = tmp / "memory"
    sizes = {}
    with emulator("--rate-limit", "1000") as endpoint:
        for rows in (small, large):
            manifest = write_manifest(folder, rows, unique)
            code = _RSS_CHILD.format(
                bench=str(Path(__file__).resolve().parent),
                endpoint=endpoint,
                manifest=str(manifest),
                output=str(folder / f"out_{rows}.parquet"),
                cache=str(folder / f"cache_{rows}.sqlite"),
            )
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
            rss_kib, n, ok, seconds = out.stdout.split()[-4:]
            sizes[rows] = int(rss_kib)
            record(
                "3. memory",
                f"peak RSS, {rows} rows ({unique} distinct images)",
                f"{int(rss_kib) / 1024:.0f} MiB ({ok}/{n} ok, {seconds} s)",
                "-",
            )
    record("3. memory", f"RSS ratio {large}/{small} rows", f"{sizes[large] / sizes[small]:.2f}", "<= 1.3")


def chaos(tmp: Path, images: int) -> None:
    import pyarrow.parquet as pq

    manifest = write_manifest(tmp / "chaos", images, images)
    flags = (
        "--rate-limit",
        "40",
        "--fault-internal-error",
        "0.10",
        "--fault-http-5xx",
        "0.05",
        "--fault-drop",
        "0.02",
        "--fault-throttle",
        "0.05",
        "--seed",
        "1",
    )
    with emulator(*flags) as endpoint:
        use_emulator(endpoint)
        summary, _ = run_ocr(
            manifest, tmp / "chaos.parquet", None, max_requests_per_second=60, max_attempts=10, retry_max_wait=5
        )
        seen = stats(endpoint)
    rows = pq.read_table(tmp / "chaos.parquet", columns=["record_id", "status"]).to_pylist()
    ids = [r["record_id"] for r in rows]
    ok = sum(r["status"] == "ok" for r in rows)
    faults = {k: v for k, v in seen["codes"].items() if k != "OK"}
    record("4. chaos", "rows ok / rows / distinct ids", f"{ok} / {len(rows)} / {len(set(ids))} of {images}", "all ok")
    record("4. chaos", "faults seen by the emulator", ", ".join(f"{k} {v}" for k, v in sorted(faults.items())), "-")


_KILL_CHILD = """
import sys
sys.path.insert(0, {bench!r})
from _common import run_ocr, use_emulator
from pathlib import Path
use_emulator({endpoint!r})
run_ocr(Path({manifest!r}), Path({output!r}), Path({cache!r}), max_requests_per_second=50, max_in_flight={in_flight})
"""


def kill_and_resume(tmp: Path, images: int) -> None:
    import pyarrow.parquet as pq

    folder = tmp / "kill"
    manifest = write_manifest(folder, images, images)
    in_flight = 16
    with emulator("--rate-limit", "50", "--latency-ms", "200") as endpoint:
        code = _KILL_CHILD.format(
            bench=str(Path(__file__).resolve().parent),
            endpoint=endpoint,
            manifest=str(manifest),
            output=str(folder / "out.parquet"),
            cache=str(folder / "cache.sqlite"),
            in_flight=in_flight,
        )
        child = subprocess.Popen([sys.executable, "-c", code])
        while stats(endpoint)["billed"] < images // 2:
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = stats(endpoint)
        time.sleep(1.0)  # requests still in flight at the emulator finish (and are billed)
        billed_first = stats(endpoint)["billed"]
        use_emulator(endpoint)
        summary, _ = run_ocr(
            manifest,
            folder / "out.parquet",
            folder / "cache.sqlite",
            max_requests_per_second=50,
            max_in_flight=in_flight,
        )
        total = stats(endpoint)["billed"]
    rows = pq.read_table(folder / "out.parquet", columns=["record_id", "status", "attempts"]).to_pylist()
    ids = [r["record_id"] for r in rows]
    record("5. kill -9", "billed at kill / after / total", f"{at_kill['billed']} / {billed_first} / {total}", "-")
    record(
        "5. kill -9",
        "total billed <= rows + in flight",
        f"{total} <= {images} + {in_flight}: {total <= images + in_flight}",
        "True",
    )
    record(
        "5. kill -9",
        "rows / distinct ids / ok / served from cache",
        f"{len(rows)} / {len(set(ids))} / {summary.ok} / {summary.cache_hits}",
        f"{images} / {images} / all",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", type=int, help="scenario numbers to run (default: all)")
    args = parser.parse_args()
    q = args.quick
    todo = set(args.only or [1, 2, 3, 4, 5])
    with tempfile.TemporaryDirectory(prefix="tencent-ocr-bench-") as tmpdir:
        tmp = Path(tmpdir)
        if 1 in todo:
            at_limit(tmp, 200 if q else 2000, 10 if q else 60)
        if 2 in todo:
            fast_limit(tmp, 600 if q else 4000)
        if 3 in todo:
            memory(tmp, 2000, 20000 if q else 200000, 200)
        if 4 in todo:
            chaos(tmp, 200 if q else 1000)
        if 5 in todo:
            kill_and_resume(tmp, 300 if q else 1000)
    width = [max(len(r[i]) for r in ROWS) for i in range(4)]
    print()
    header = ("scenario", "measure", "value", "target")
    print(" | ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("-|-".join("-" * w for w in width))
    for row in ROWS:
        print(" | ".join(v.ljust(w) for v, w in zip(row, width, strict=True)))
    print(
        f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; max RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
