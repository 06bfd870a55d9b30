"""Two tasks sharing one result cache, on local disk and on S3 (moto on loopback): cost and durability.

Each task is its own process running the runner, as two Airflow tasks on two workers would. The
emulator bills every recognition it performs (20/s account limit, 300 ms latency); the S3 API is
moto's server on 127.0.0.1, reached through the Amazon provider and s3fs.

Reports, for a cache on local disk and on S3:
  * three tasks at once over the same images (``--overlap``, default 150): billed (target at most
    images + tasks: each key is claimed before it is paid for);
  * two tasks at once over overlapping manifests: rows ok, distinct images, billed, results stored;
  * both tasks again: billed by the reruns (target 0);
  * one task killed with SIGKILL half-way: billed before the kill, results saved, lost (paid but not
    saved), and what its rerun billed.

Run: .venv/bin/python benchmarks/shared_cache.py [--images 100]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import png  # noqa: E402

from airflow_provider_tencent_ocr.io.cache import ResultCache  # noqa: E402
from tencent_ocr_emulator.server import EmulatorServer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OCR_CONN = "tencentcloud_bench_shared_cache"
S3_CONN = "bench_shared_cache_s3"

CHILD = textwrap.dedent(
    """
    import sys
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    listing, cache_uri, out, ocr_conn, storage_conn = sys.argv[1:6]
    cache = ResultCache(cache_uri, storage_conn_id=storage_conn or None)
    runner = OcrRunner(TencentOcrHook(ocr_conn), RunOptions(progress_interval=600), cache=cache)
    with ParquetOutputWriter(out, output_schema()) as writer:
        summary = runner.run(manifest_from_images(open(listing).read().split()), writer)
    cache.close()
    print("DONE", summary.ok, summary.rows)
    """
)


def start(listing: Path, cache_uri: str, out: Path, storage_conn: str, env: dict[str, str]) -> subprocess.Popen:
    args = [sys.executable, "-c", CHILD, str(listing), cache_uri, str(out), OCR_CONN, storage_conn]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs: list[subprocess.Popen]) -> list[tuple[int, int]]:
    done = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(stderr[-3000:])
        _, ok, rows = stdout.strip().splitlines()[-1].split()
        done.append((int(ok), int(rows)))
    return done


def scenario(kind: str, n: int, overlap: int, folder: Path, emulator: EmulatorServer, s3_env: dict[str, str]) -> dict:
    images = []
    for i in range(n * 3 // 2):
        path = folder / "img" / f"{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(i))
        images.append(str(path))
    if kind == "local":
        cache_uri, storage_conn = str(folder / kind / "shared.ocr-cache"), ""
    else:
        cache_uri, storage_conn = f"s3://bench/{uuid.uuid4().hex}/shared.ocr-cache", S3_CONN
    env = {
        **os.environ,
        **s3_env,
        f"AIRFLOW_CONN_{OCR_CONN.upper()}": emulator.connection_json(),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    lists = []
    for name, part in (("a", images[:n]), ("b", images[n // 2 :])):
        listing = folder / f"{kind}_{name}.txt"
        listing.write_text("\n".join(part))
        lists.append(listing)
    outs = [folder / f"{kind}_{name}.parquet" for name in "ab"]
    billed0 = emulator.stats.billed
    started = time.monotonic()
    first = finish([start(lst, cache_uri, out, storage_conn, env) for lst, out in zip(lists, outs, strict=True)])
    together = time.monotonic() - started
    billed1 = emulator.stats.billed
    with ResultCache(cache_uri, storage_conn_id=storage_conn or None) as cache:
        stored = len(cache)
    started = time.monotonic()
    again = finish([start(lst, cache_uri, out, storage_conn, env) for lst, out in zip(lists, outs, strict=True)])
    rerun_seconds = time.monotonic() - started
    billed2 = emulator.stats.billed

    # Three tasks at once over the very same images, with a fresh cache: claims make them pay once.
    same = []
    for i in range(overlap):
        path = folder / "same" / f"{kind}_{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(20_000_000 + i + (0 if kind == "local" else 100_000)))
        same.append(str(path))
    listing = folder / f"{kind}_same.txt"
    listing.write_text("\n".join(same))
    base = emulator.stats.billed
    started = time.monotonic()
    three = finish(
        [start(listing, cache_uri + "-same", folder / f"{kind}_same_{t}.parquet", storage_conn, env) for t in "xyz"]
    )
    three_seconds = time.monotonic() - started
    three_billed = emulator.stats.billed - base

    # Kill -9 half-way through a third task over fresh images, then rerun it.
    fresh = []
    for i in range(n):
        path = folder / "fresh" / f"{kind}_{i:05d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png(10_000_000 + i + (0 if kind == "local" else 100_000)))
        fresh.append(str(path))
    listing = folder / f"{kind}_kill.txt"
    listing.write_text("\n".join(fresh))
    out = folder / f"{kind}_kill.parquet"
    kill_cache = cache_uri + "-kill"
    base = emulator.stats.billed
    child = start(listing, kill_cache, out, storage_conn, env)
    try:
        while emulator.stats.billed - base < n // 2 and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    while emulator.stats.in_flight:
        time.sleep(0.01)
    paid = emulator.stats.billed - base
    with ResultCache(kill_cache, storage_conn_id=storage_conn or None) as cache:
        saved = len(cache)
    finish([start(listing, kill_cache, out, storage_conn, env)])
    return {
        "cache": kind,
        "rows ok / rows (two tasks)": f"{sum(ok for ok, _ in first)} / {sum(rows for _, rows in first)}",
        "distinct images": len(images),
        "billed by the two tasks": billed1 - billed0,
        "results stored": stored,
        "seconds (two tasks at once)": round(together, 1),
        "billed by the two reruns": billed2 - billed1,
        "rows ok on rerun": sum(ok for ok, _ in again),
        "seconds (two reruns)": round(rerun_seconds, 1),
        "three tasks, same images: rows ok / billed / images": (
            f"{sum(ok for ok, _ in three)} / {three_billed} / {overlap} ({three_seconds:.1f} s)"
        ),
        "kill -9: billed before / saved / lost": f"{paid} / {saved} / {paid - saved}",
        "kill -9: billed by the rerun": emulator.stats.billed - base - paid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100, help="manifest rows per task (default 100)")
    parser.add_argument("--overlap", type=int, default=150, help="images shared by the three tasks (default 150)")
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log, one line per S3 call
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        conn = {
            "conn_type": "aws",
            "login": "bench",
            "password": "bench-secret",
            "extra": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"},
        }
        s3_env = {f"AIRFLOW_CONN_{S3_CONN.upper()}": json.dumps(conn)}
        os.environ.update(s3_env)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
            region_name="us-east-1",
        ).create_bucket(Bucket="bench")
        results = []
        with tempfile.TemporaryDirectory(prefix="bench-shared-cache-") as tmp:
            with EmulatorServer(rate_limit=20, latency=0.3) as emulator:
                for kind in ("local", "s3"):
                    results.append(scenario(kind, args.images, args.overlap, Path(tmp), emulator, s3_env))
    finally:
        moto.stop()
    keys = list(results[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in results:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
