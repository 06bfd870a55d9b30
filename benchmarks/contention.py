"""Many tasks on one account, an overloaded service, and chaos: what a real deployment sees (issue 9).

Run: ``.venv/bin/python benchmarks/contention.py`` (about 5 minutes on 2 cores), or pick scenarios
with ``--only tasks overloaded single chaos``. Prints one table; numbers, not pass/fail.

- ``tasks``: 1, 3 and 6 runs in separate processes at once on one 20/s account (300 ms latency),
  600 images split between them: error rows, combined share of the limit, fairness.
- ``overloaded``: a service that recognises one image at a time in 2.5 s and queues the rest,
  billing each when processed even if the client has given up: error rows, billed per image.
- ``single``: one run over 600 images on a 20/s account (300 ms latency), start-up included, with
  compiled bytecode as an installed environment has it (``--no-bytecode`` for this venv as it is).
- ``chaos``: 10% InternalError, 5% HTTP 502, 2% dropped connections, 20/s, 50 ms latency.

Shares of the limit: ``billed / seconds / limit`` for good rows, and ``accepted requests /
seconds / limit`` for what the account's limit was used for (failed calls count against it too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-home-"))

from _common import OneAtATime, emulator, run_ocr, stats, use_emulator, write_manifest  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []
LIMIT = 20.0


def record(scenario: str, measure: str, value: str, target: str) -> None:
    ROWS.append((scenario, measure, value, target))
    print(f"  {scenario}: {measure} = {value} (target {target})", flush=True)


def error_rows(output: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    codes: dict[str, int] = {}
    for row in pq.read_table(output, columns=["status", "error_code"]).to_pylist():
        if row["status"] != "ok":
            codes[row["error_code"]] = codes.get(row["error_code"], 0) + 1
    return codes


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


class Timeline:
    """Samples the emulator's billed count every half second, for a per-second profile of a run."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.samples.append((time.time(), stats(self.endpoint)["billed"]))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def billed_at(self, when: float) -> int:
        """The billed count of the last sample at or before ``when``."""
        return max((billed for t, billed in self.samples if t <= when), default=0)

    def per_second(self, since: float) -> list[int]:
        """Billed in each whole second after ``since`` (from the nearest samples)."""
        points = [(t - since, billed) for t, billed in self.samples if t >= since]
        rates, second, last = [], 1.0, 0
        for t, billed in points:
            if t >= second:
                rates.append(billed - last)
                last, second = billed, second + 1.0
        return rates


# -- several tasks in separate processes ---------------------------------------------------------------
_TASK_CHILD = """
import json, sys, time
started_process = time.time()
sys.path.insert(0, {bench!r})
from pathlib import Path
from _common import run_ocr, use_emulator
# Imports first (pandas too: pyarrow loads it when the output table is built, seconds without bytecode)
import airflow_provider_tencent_ocr.run.runner, airflow_provider_tencent_ocr.hooks.ocr, pyarrow.parquet, pandas
use_emulator({endpoint!r})
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
TencentOcrHook().get_conn()  # the connection and SDK imports too: 6 processes importing at once starve the rest
ready = time.time()
print("READY", flush=True)
sys.stdin.readline()  # every task starts at once, after all have imported
began = time.time()
summary, seconds = run_ocr(Path({manifest!r}), Path({output!r}), None, max_requests_per_second={limit!r})
print("RESULT " + json.dumps({{"began": began, "ended": time.time(), "seconds": seconds, "rows": summary.rows,
      "ok": summary.ok, "errors": summary.errors, "api_calls": summary.api_calls,
      "retries": getattr(summary, "retries", {{}}), "startup": ready - started_process}}))
"""


def tasks(tmp: Path, counts: list[int], images: int) -> None:
    bench = str(Path(__file__).resolve().parent)
    for n in counts:
        per_task = images // n
        with emulator("--rate-limit", str(LIMIT), "--latency-ms", "300") as endpoint:
            children = []
            for i in range(n):
                folder = tmp / f"tasks{n}" / f"task{i}"
                manifest = write_manifest(folder, per_task, per_task)
                # Distinct images per task: rename so no two tasks share bytes.
                for j in range(per_task):
                    image = folder / f"img{j}.png"
                    image.write_bytes(image.read_bytes() + i.to_bytes(2, "big"))
                code = _TASK_CHILD.format(
                    bench=bench,
                    endpoint=endpoint,
                    manifest=str(manifest),
                    output=str(folder / "out.parquet"),
                    limit=LIMIT,
                )
                child = subprocess.Popen(
                    [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
                )
                children.append((folder, child))
            for folder, child in children:  # a barrier: all have imported before any starts
                assert child.stdout is not None
                if child.stdout.readline().strip() != "READY":
                    raise RuntimeError(f"task in {folder} did not start (exit {child.wait()})")
            timeline = Timeline(endpoint)
            for _, child in children:
                assert child.stdin is not None
                child.stdin.write("GO\n")
                child.stdin.flush()
            results = []
            for folder, child in children:
                out, _ = child.communicate(timeout=900)
                line = [x for x in out.splitlines() if x.startswith("RESULT ")]
                if child.returncode != 0 or not line:
                    raise RuntimeError(f"task in {folder} failed (exit {child.returncode})")
                result = json.loads(line[-1][len("RESULT ") :])
                result["error_codes"] = error_rows(folder / "out.parquet")
                results.append(result)
            timeline.stop()
            seen = stats(endpoint)
        began = min(r["began"] for r in results)
        print(f"  {n} tasks, billed per second from the first start: {timeline.per_second(began)}", flush=True)
        ended = max(r["ended"] for r in results)
        # All tasks running together: until the first one finishes.
        overlap_end = min(r["ended"] for r in results)
        wall = ended - began
        errors = sum(r["errors"] for r in results)
        throttled = seen["codes"].get("RequestLimitExceeded", 0)
        rates = [r["rows"] / r["seconds"] for r in results]
        fairness = sum(rates) ** 2 / (len(rates) * sum(x * x for x in rates))
        label = f"{n} task{'s' if n > 1 else ''}"
        record(label, "error rows / rows", f"{errors} / {sum(r['rows'] for r in results)}", "0")
        record(
            label,
            "combined billed/s / limit (first start to last end)",
            f"{seen['billed'] / wall / LIMIT:.3f} ({seen['billed']} in {wall:.1f} s)",
            ">= 0.9",
        )
        if n > 1:
            last_start = max(r["began"] for r in results)
            together = overlap_end - last_start
            share = (timeline.billed_at(overlap_end) - timeline.billed_at(last_start)) / together / LIMIT
            record(label, "combined billed/s / limit while all tasks run", f"{share:.3f} ({together:.1f} s)", ">= 0.9")
            record(
                label,
                "per-task rows/s (Jain fairness)",
                f"{', '.join(f'{x:.1f}' for x in rates)} ({fairness:.2f})",
                "-",
            )
        record(
            label,
            "throttled answers / API calls",
            f"{throttled} / {sum(r['api_calls'] for r in results)}",
            "-",
        )
        record(label, "machine", load_average(), "-")


# -- an overloaded service ------------------------------------------------------------------------------
def overloaded(tmp: Path, images: int, seconds: float) -> None:
    from tencent_ocr_emulator.recognisers import FixtureRecogniser
    from tencent_ocr_emulator.server import EmulatorServer

    manifest = write_manifest(tmp / "overloaded", images, images)
    output = tmp / "overloaded.parquet"
    server = EmulatorServer(recogniser=OneAtATime(FixtureRecogniser(), seconds), rate_limit=LIMIT)
    with server:
        use_emulator(server.endpoint, timeout=None)  # the default 30 s timeout, as a new user has it
        summary, wall = run_ocr(manifest, output, None, max_requests_per_second=LIMIT)
        deadline = time.monotonic() + 120
        while server.stats.in_flight and time.monotonic() < deadline:  # queued copies still get billed
            time.sleep(0.1)
        billed, peak = server.stats.billed, server.stats.max_in_flight
    codes = error_rows(output)
    label = f"overloaded ({seconds:g} s each, one at a time)"
    record(
        label,
        "rows ok / rows; error rows",
        f"{summary.ok} / {summary.rows}; {sum(codes.values())} {codes or ''}",
        "all ok",
    )
    record(label, "billed per image", f"{billed / images:.2f} ({billed} for {images})", "<= 1.1")
    record(label, "wall time; ideal (one at a time)", f"{wall:.0f} s; {images * seconds:.0f} s", "-")
    record(label, "peak requests at the service; retries", f"{peak}; {getattr(summary, 'retries', '-')}", "-")
    record(label, "machine", load_average(), "-")


# -- one task at the limit, start-up included -------------------------------------------------------------
_SINGLE_CHILD = """
import json, sys, time
t0 = time.monotonic()
sys.path.insert(0, {bench!r})
from pathlib import Path
from _common import run_ocr, use_emulator
use_emulator({endpoint!r})
summary, seconds = run_ocr(Path({manifest!r}), Path({output!r}), None, max_requests_per_second={limit!r})
print("RESULT " + json.dumps({{"process": time.monotonic() - t0, "run": seconds, "ok": summary.ok,
      "rows": summary.rows, "errors": summary.errors, "retries": getattr(summary, "retries", {{}})}}))
"""


_WARM_IMPORTS = (
    "import pandas, pyarrow.parquet, airflow_provider_tencent_ocr.run.runner, airflow_provider_tencent_ocr.hooks.ocr, "
    "airflow_provider_tencent_ocr.io.parquet, tencentcloud.common.common_client"
)


def bytecode_env(tmp: Path) -> dict[str, str]:
    """An environment whose imports use (and write) compiled bytecode, as an installed one does.

    Some environments set PYTHONDONTWRITEBYTECODE and ship no ``__pycache__`` (this venv does): every
    process then compiles pandas, Airflow and the SDK from source, seconds per process. The cache
    goes to a folder of its own (PYTHONPYCACHEPREFIX), so the shared environment is not touched.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    subprocess.run([sys.executable, "-c", _WARM_IMPORTS], env=env, check=True, capture_output=True, timeout=600)
    return env


def single(tmp: Path, images: int, *, bytecode: bool) -> None:
    manifest = write_manifest(tmp / "single", images, images)
    env = bytecode_env(tmp) if bytecode else None
    with emulator("--rate-limit", str(LIMIT), "--latency-ms", "300") as endpoint:
        code = _SINGLE_CHILD.format(
            bench=str(Path(__file__).resolve().parent),
            endpoint=endpoint,
            manifest=str(manifest),
            output=str(tmp / "single.parquet"),
            limit=LIMIT,
        )
        started = time.monotonic()
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=900, check=True
        )
        process = time.monotonic() - started
        billed = stats(endpoint)["billed"]
    result = json.loads([x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1][len("RESULT ") :])
    label = f"single task ({images} images{', bytecode' if bytecode else ', no bytecode'})"
    record(label, "rows ok / rows", f"{result['ok']} / {result['rows']}", "all")
    record(
        label,
        "billed/s / limit, run incl. start-up (manifest to commit)",
        f"{billed / result['run'] / LIMIT:.3f} ({result['run']:.1f} s)",
        ">= 0.95",
    )
    record(
        label,
        "billed/s / limit, whole process (Python start and imports too)",
        f"{billed / process / LIMIT:.3f} ({process:.1f} s)",
        "-",
    )
    record(label, "retries", str(result["retries"]), "-")
    record(label, "machine", load_average(), "-")


# -- chaos ---------------------------------------------------------------------------------------------
def chaos(tmp: Path, images: int) -> None:
    manifest = write_manifest(tmp / "chaos", images, images)
    output = tmp / "chaos.parquet"
    flags = ["--rate-limit", str(LIMIT), "--latency-ms", "50", "--seed", "1"]
    flags += ["--fault-internal-error", "0.10", "--fault-http-5xx", "0.05", "--fault-drop", "0.02"]
    with emulator(*flags) as endpoint:
        use_emulator(endpoint)
        summary, wall = run_ocr(manifest, output, None, max_requests_per_second=LIMIT)
        seen = stats(endpoint)
    codes = error_rows(output)
    accepted = seen["requests"] - seen["codes"].get("RequestLimitExceeded", 0)
    label = f"chaos ({images} images)"
    record(label, "rows ok / rows", f"{summary.ok} / {summary.rows} {codes or ''}", "all ok")
    record(label, "good rows/s / limit", f"{seen['billed'] / wall / LIMIT:.3f} ({wall:.1f} s)", ">= 0.8")
    record(label, "accepted requests/s / limit", f"{accepted / wall / LIMIT:.3f}", "-")
    faults = {k: v for k, v in sorted(seen["codes"].items()) if k != "OK"}
    record(label, "faults injected; retries", f"{faults}; {getattr(summary, 'retries', '-')}", "-")
    record(label, "machine", load_average(), "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=("tasks", "overloaded", "single", "chaos"), help="scenarios")
    parser.add_argument("--tasks", nargs="*", type=int, default=[1, 3, 6], help="task counts (default 1 3 6)")
    parser.add_argument("--images", type=int, default=600, help="images per tasks/single/chaos scenario")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="single: compile every import from source (as this venv does)"
    )
    parser.add_argument("--overloaded-images", type=int, default=24)
    parser.add_argument("--overloaded-seconds", type=float, default=2.5)
    args = parser.parse_args()
    todo = set(args.only or ("tasks", "overloaded", "single", "chaos"))
    print(f"machine at start: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tencent-ocr-contention-") as tmpdir:
        tmp = Path(tmpdir)
        if "tasks" in todo:
            tasks(tmp, args.tasks, args.images)
        if "overloaded" in todo:
            overloaded(tmp, args.overloaded_images, args.overloaded_seconds)
        if "single" in todo:
            single(tmp, args.images, bytecode=not args.no_bytecode)
        if "chaos" in todo:
            chaos(tmp, args.images)
    width = [max(len(r[i]) for r in ROWS) for i in range(4)]
    print()
    header = ("scenario", "measure", "value", "target")
    print(" | ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    print("-|-".join("-" * w for w in width))
    for row in ROWS:
        print(" | ".join(v.ljust(w) for v, w in zip(row, width, strict=True)))
    print(f"\nmachine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {load_average()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
