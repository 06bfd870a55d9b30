"""Issue 16's hang and kill figures: header trickles (API and image server) and paid calls after SIGTERM.

- **API header trickle**: a loopback server sends its status line and headers one byte every 0.5 s.
  One row, ``timeout=3``, ``max_attempts=1`` (the issue: the task was killed at 60 s). Figure: the
  wall time of the run, and the row's error code.
- **Image header trickle**: an image server does the same; ``max_attempts=1`` and the documented
  ``image_deadline`` (60 s; the issue: past 110 s). Figure: the wall time of the run.
- **SIGTERM**: a task process (the operator, with the SIGTERM handler Airflow's task runner installs)
  recognises 2,000 images against the emulator (1,000/s allowed, 0.1 s latency, 16 calls in flight);
  SIGTERM after 100 are billed. Figures: calls received after the signal (the issue: 117 in 4 s), the
  seconds until the process ended by itself, results in the cache vs billed, temporary files left.

Run: .venv/bin/python benchmarks/faults.py [--image-deadline 60] [--skip-image]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from _common import png  # noqa: E402
from hostile_http import hostile_server, trickle, trickling_image_server  # noqa: E402

_TASK = textwrap.dedent(
    """
    import collections, signal, sys, types
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    paths = open(sys.argv[1]).read().split()
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=paths, output=sys.argv[2], cache=sys.argv[3], max_in_flight=16,
        max_requests_per_second=1000, progress_interval=600.0,
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: op.on_kill())  # as airflow.sdk's task runner does
    try:
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    except Exception as err:
        print("FAILED", type(err).__name__, flush=True)
        sys.exit(1)
    print("DONE", flush=True)
    """
)


def _operator(images: list[str], out: Path, **kwargs: object) -> float:
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=images, output=str(out), cache="none", max_attempts=1, progress_interval=600.0, **kwargs
    )
    started = time.monotonic()
    op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    return time.monotonic() - started


def api_trickle(folder: Path) -> None:
    import pyarrow.parquet as pq

    image = folder / "card.png"
    image.write_bytes(png(1))
    with hostile_server(trickle) as server:
        os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = server.connection()
        seconds = _operator([str(image)], folder / "api.parquet", timeout=3)
    [row] = pq.read_table(folder / "api.parquet").to_pylist()
    print(f"API header trickle, timeout=3, max_attempts=1: run ended after {seconds:.1f} s ({row['error_code']})")


def image_trickle(folder: Path, deadline: float) -> None:
    import pyarrow.parquet as pq

    os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = json.dumps(
        {"conn_type": "tencentcloud", "login": "AKIDx", "password": "k", "extra": {"endpoint": "http://127.0.0.1:9"}}
    )
    with trickling_image_server() as url:
        seconds = _operator([url], folder / "img.parquet", image_deadline=deadline)
    [row] = pq.read_table(folder / "img.parquet").to_pylist()
    print(
        f"image header trickle, image_deadline={deadline:g}, max_attempts=1: run ended after {seconds:.1f} s "
        f"({row['error_code']})"
    )


def sigterm(folder: Path) -> None:
    from tencent_ocr_emulator.server import EmulatorServer

    images = folder / "images"
    images.mkdir()
    paths = []
    for i in range(2000):
        (images / f"{i}.png").write_bytes(png(i))
        paths.append(str(images / f"{i}.png"))
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths))
    out, cache = folder / "out" / "cards.parquet", folder / "cache"
    with EmulatorServer(rate_limit=1000, latency=0.1) as emulator:
        env = {**os.environ, "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT": emulator.connection_json(), "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", _TASK, str(listing), str(out), str(cache)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while emulator.stats.billed < 100 and child.poll() is None:
                time.sleep(0.01)
            child.send_signal(signal.SIGTERM)
            signalled, requests_then = time.monotonic(), emulator.stats.requests
            stdout, _ = child.communicate(timeout=60)
            ended = time.monotonic() - signalled
        finally:
            if child.poll() is None:
                child.kill()
        after = emulator.stats.requests - requests_then
        billed = emulator.stats.billed
    cached = sum(1 for p in cache.rglob("*.json"))
    leftovers = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    last = (stdout.strip().splitlines() or ["no output"])[-1]
    print(
        f"SIGTERM after 100 billed (16 in flight): {after} calls received after the signal; the task ended by "
        f"itself {ended:.2f} s later ({last}); {billed} billed, {cached} in the cache; "
        f"files left beside the output: {leftovers or 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-deadline", type=float, default=60.0)
    parser.add_argument("--skip-image", action="store_true", help="skip the (deadline-long) image trickle")
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="tencent-ocr-bench-home-"))
    os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        api_trickle(folder)
        if not args.skip_image:
            image_trickle(folder, args.image_deadline)
        sigterm(folder)


if __name__ == "__main__":
    main()
