"""A real distributed Airflow deployment on this machine, loopback only, running the sharded example DAG.

PostgreSQL (a private cluster in a temporary folder, run as the ``postgres`` user) as the metadata
database, Redis as the Celery broker, and Airflow with the CeleryExecutor: api-server, scheduler,
dag-processor and two Celery workers, plus the Tencent Cloud OCR emulator with a 20/s account
limit. It generates N distinct card images, runs ``example_tencent_ocr_sharded`` over them through
the ``tencent_ocr`` pool, and reports rows ok / rows / distinct ids, the combined rate as a share
of the limit, billed recognitions per image and the wall time. ``--kill-worker`` SIGKILLs one
Celery worker (with its task processes, as a lost machine) half-way: the scheduler notices the
missing heartbeats, the tasks' Airflow retries finish the run, and the report shows how many
recognitions were billed beyond the rows (at most the calls that were in flight).

Everything it starts is stopped on the way out, on success, failure, Ctrl-C or SIGTERM. Exit
status 0 only when every manifest row is in the dataset exactly once with status ``ok`` (and, with
``--kill-worker``, the extra billing stays within the calls in flight). Run it through
``scripts/celery_deployment.sh``, which installs what is missing first.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAG_ID = "example_tencent_ocr_sharded"
REPORT_DAG_ID = "example_tencent_ocr_warn_report"
POOL = "tencent_ocr"
MAX_IN_FLIGHT = 16  # the operator's default max_in_flight, which the example DAG keeps


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def png(index: int, size: int = 8) -> bytes:
    """A small valid PNG, distinct per ``index`` (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    seed = hashlib.sha256(index.to_bytes(8, "big")).digest()
    raw = b"".join(b"\x00" + bytes(seed[(x + y) % 32] for x in range(size * 3)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def pg_binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise SystemExit(f"{name} not found: install PostgreSQL (apt-get install postgresql), or run celery_deployment.sh")


class Deployment:
    """The processes of one deployment; ``stop()`` ends them all, newest first."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.logs = base / "logs"
        self.logs.mkdir(parents=True)
        self.procs: list[tuple[str, subprocess.Popen[bytes], int]] = []

    def spawn(
        self, name: str, cmd: list[str], env: dict[str, str], *, user: str | None = None, stop_signal: int = 15
    ) -> subprocess.Popen[bytes]:
        logfile = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        proc = subprocess.Popen(
            cmd, stdout=logfile, stderr=subprocess.STDOUT, env=env, start_new_session=True, user=user, cwd=self.base
        )
        logfile.close()
        self.procs.append((name, proc, stop_signal))
        return proc

    def stop(self) -> None:
        for name, proc, stop_signal in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, stop_signal)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in 30 s: killing it")
            with contextlib.suppress(ProcessLookupError):  # leftovers in its group (task processes)
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        self.procs.clear()

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Api:
    """The few Airflow REST calls the run needs (SimpleAuthManager with everyone admin, loopback only)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    def wait_ok(self, path: str, timeout: float, what: str, deployment: Deployment) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.call("GET", path)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out waiting for {what} ({exc})") from exc
            for name, proc, _ in deployment.procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited ({proc.returncode}):\n{deployment.tail(name)}")
            time.sleep(2)


def emulator_stats(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + "/__emulator__/stats", timeout=10) as answer:
        return json.loads(answer.read())


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc, so no extra dependency)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2000, help="manifest rows (distinct images)")
    parser.add_argument("--shards", type=int, default=8, help="mapped task instances (part files)")
    parser.add_argument("--pool-slots", type=int, default=4, help="slots of the tencent_ocr pool")
    parser.add_argument("--worker-concurrency", type=int, default=4, help="task slots per Celery worker")
    parser.add_argument("--rate-limit", type=float, default=20.0, help="the emulator's per-account limit (1/s)")
    parser.add_argument("--latency-ms", type=float, default=300.0, help="emulator latency per recognition")
    parser.add_argument(
        "--rate-per-task",
        type=float,
        default=None,
        help="each task's max_requests_per_second (default: the whole limit; the tasks back off on throttling)",
    )
    parser.add_argument("--kill-worker", action="store_true", help="SIGKILL one Celery worker half-way")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument("--report-timeout", type=float, default=300.0, help="wait this long for the warn report")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, data) afterwards")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            raise SystemExit("no 'postgres' user: install PostgreSQL from Debian (celery_deployment.sh does)") from None
    rate_per_task = args.rate_per_task or args.rate_limit

    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="tencent-ocr-celery-"))
    base.chmod(0o755)  # the postgres user must reach its data folder inside
    deployment = Deployment(base)
    ok = False

    def on_signal(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with contextlib.ExitStack() as stack:
            figures = run(args, rate_per_task, base, deployment, stack)
            figures["script_seconds"] = round(time.monotonic() - started, 1)
            ok = figures["passed"]
            args.keep = args.keep or not ok
            print(json.dumps(figures, indent=2), flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    except BaseException:
        log(f"failed; logs in {deployment.logs}")
        args.keep = True
        raise
    finally:
        log("stopping everything this script started")
        deployment.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            log(f"kept {base}")
    return 0 if ok else 1


def run(
    args: argparse.Namespace,
    rate_per_task: float,
    base: Path,
    deployment: Deployment,
    stack: contextlib.ExitStack,
) -> dict[str, Any]:
    from tencent_ocr_emulator.process import emulator_process
    from tencent_ocr_emulator.server import connection_json

    data = base / "data"
    cards = data / "cards"
    cards.mkdir(parents=True)
    log(f"writing {args.images} distinct card images and the manifest")
    with open(cards / "manifest.csv", "w") as manifest:
        manifest.write("record_id,image_uri,side\n")
        for i in range(args.images):
            path = cards / f"card_{i:06d}.png"
            path.write_bytes(png(i))
            manifest.write(f"card-{i:06d},{path},front\n")

    # -- PostgreSQL: a private cluster on a loopback port, as the postgres user (initdb refuses root)
    pg_port, redis_port, api_port = free_port(), free_port(), free_port()
    pgdata = base / "pg"
    pgdata.mkdir()
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(pgdata, user, user)
    pgdata.chmod(0o700)
    log(f"PostgreSQL on 127.0.0.1:{pg_port}")
    subprocess.run(
        [pg_binary("initdb"), "-D", str(pgdata), "-U", "airflow", "-A", "trust", "-E", "UTF8", "--no-sync"],
        check=True,
        user=user,
        stdout=subprocess.DEVNULL,
        cwd=base,
    )
    deployment.spawn(
        "postgres",
        [pg_binary("postgres"), "-D", str(pgdata), "-p", str(pg_port), "-c", "listen_addresses=127.0.0.1"]
        + ["-c", f"unix_socket_directories={pgdata}", "-c", "fsync=off", "-c", "max_connections=300"],
        dict(os.environ),
        user=user,
        stop_signal=signal.SIGINT,  # fast shutdown
    )
    for _ in range(60):
        ready = subprocess.run(
            [pg_binary("pg_isready"), "-h", "127.0.0.1", "-p", str(pg_port)], capture_output=True, check=False
        )
        if ready.returncode == 0:
            break
        time.sleep(1)
    subprocess.run(
        [pg_binary("createdb"), "-h", "127.0.0.1", "-p", str(pg_port), "-U", "airflow", "airflow"], check=True
    )

    log(f"Redis on 127.0.0.1:{redis_port}")
    (base / "redis").mkdir()
    deployment.spawn(
        "redis",
        [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1", "--port", str(redis_port)]
        + ["--save", "", "--appendonly", "no", "--dir", str(base / "redis")],
        dict(os.environ),
    )

    endpoint = stack.enter_context(
        emulator_process("--rate-limit", str(args.rate_limit), "--latency-ms", str(args.latency_ms))
    )
    log(f"emulator on {endpoint} ({args.rate_limit:g}/s limit, {args.latency_ms:g} ms latency)")

    db = f"postgresql+psycopg2://airflow@127.0.0.1:{pg_port}/airflow"
    env = {
        **os.environ,
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "AIRFLOW_HOME": str(base / "airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(args.worker_concurrency),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
        # A lost worker is noticed in about half a minute (default 300 s).
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # The example DAG's settings.
        "TENCENT_OCR_DEMO_OUTPUT_DIR": str(data),
        "TENCENT_OCR_SHARDS": str(args.shards),
        "TENCENT_OCR_POOL": POOL,
        "TENCENT_OCR_SHARD_RATE": f"{rate_per_task:g}",
    }
    for key in ("AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"):
        env.pop(key, None)
    airflow = str(BIN / "airflow")
    log("airflow db migrate (PostgreSQL)")
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, cwd=base)
    if migrate.returncode != 0:
        raise SystemExit(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")

    log(f"Airflow: api-server on 127.0.0.1:{api_port}, scheduler, dag-processor, two Celery workers")
    deployment.spawn("api-server", [airflow, "api-server"], env)
    deployment.spawn("scheduler", [airflow, "scheduler"], env)
    deployment.spawn("dag-processor", [airflow, "dag-processor"], env)
    workers = []
    for n in (1, 2):
        worker_env = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
        cmd = [airflow, "celery", "worker", "--celery-hostname", f"worker{n}@%h"]
        workers.append(deployment.spawn(f"worker{n}", cmd, worker_env))

    api = Api(f"http://127.0.0.1:{api_port}/api/v2")
    api.wait_ok("/monitor/health", 300, "the api-server", deployment)
    api.call("POST", "/pools", {"name": POOL, "slots": args.pool_slots, "description": "Tencent OCR account"})
    conn = json.loads(connection_json(endpoint))
    api.call(
        "POST",
        "/connections",
        {
            "connection_id": "tencentcloud_default",
            "conn_type": conn["conn_type"],
            "login": conn["login"],
            "password": conn["password"],
            "extra": json.dumps(conn["extra"]),
        },
    )
    api.wait_ok(f"/dags/{DAG_ID}", 300, "the dag-processor to parse the sharded DAG", deployment)
    api.wait_ok(f"/dags/{REPORT_DAG_ID}", 120, "the warn report DAG", deployment)
    for dag_id in (DAG_ID, REPORT_DAG_ID):
        api.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
    _wait_workers(deployment, workers)

    log(
        f"triggering {DAG_ID}: {args.images} images, {args.shards} shards, pool {POOL}={args.pool_slots} slots, "
        f"{rate_per_task:g}/s per task"
    )
    triggered = time.time()
    dag_run = api.call("POST", f"/dags/{DAG_ID}/dagRuns", {"logical_date": None})
    run_id = dag_run["dag_run_id"]
    kill: dict[str, Any] | None = None
    deadline = time.monotonic() + args.timeout
    last = ""
    while True:
        state = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
        stats = emulator_stats(endpoint)
        line = f"run {state['state']}; emulator billed {stats['billed']}/{args.images}, in flight {stats['in_flight']}"
        if line != last:
            log(line)
            last = line
        if state["state"] in ("success", "failed"):
            break
        if args.kill_worker and kill is None and stats["billed"] >= args.images // 2:
            kill = _kill_a_worker(deployment, workers, endpoint, api, run_id)
        if time.monotonic() > deadline:
            raise SystemExit(f"the DAG run did not finish within {args.timeout:.0f} s")
        time.sleep(1)
    run_seconds = (parse_time(state["end_date"]) or time.time()) - (parse_time(state["start_date"]) or triggered)
    instances = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=1000")["task_instances"]
    shards = [ti for ti in instances if ti["task_id"] == "recognise_shard"]
    starts = [parse_time(ti["start_date"]) for ti in shards if ti["start_date"]]
    ends = [parse_time(ti["end_date"]) for ti in shards if ti["end_date"]]
    ocr_seconds = (max(ends) - min(starts)) if starts and ends else float("nan")
    stats = emulator_stats(endpoint)

    for ti in instances:
        if ti["state"] not in ("success", "skipped"):
            _print_task_log(base, ti)
    report_run = None
    if state["state"] == "success":
        report_run = _wait_report(api, time.monotonic() + args.report_timeout)

    figures = _check_dataset(data, args.images)
    figures.update(
        {
            "dag_run_state": state["state"],
            "images": args.images,
            "shards": args.shards,
            "pool_slots": args.pool_slots,
            "rate_per_task": rate_per_task,
            "rate_limit": args.rate_limit,
            "latency_ms": args.latency_ms,
            "wall_seconds": round(run_seconds, 1),
            "ocr_seconds": round(ocr_seconds, 1),
            "combined_rate": round(stats["billed"] / ocr_seconds, 2),
            "share_of_limit": round(stats["billed"] / ocr_seconds / args.rate_limit, 3),
            "billed": stats["billed"],
            "billed_per_image": round(stats["billed"] / args.images, 4),
            "requests": stats["requests"],
            "emulator_codes": stats["codes"],
            "task_tries": {str(ti["map_index"]): ti["try_number"] for ti in shards},
            # Each shard's start (seconds after the first one started) and duration, last try.
            "shard_timeline": {
                str(ti["map_index"]): [
                    round(parse_time(ti["start_date"]) - min(starts), 1),
                    round(parse_time(ti["end_date"]) - parse_time(ti["start_date"]), 1),
                ]
                for ti in shards
                if ti["start_date"] and ti["end_date"] and starts
            },
            "warn_report": report_run,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    )
    passed = (
        state["state"] == "success"
        and figures["dataset_exact"]
        and report_run is not None
        and report_run["state"] == "success"
        and figures["warn_report_rows"] == args.images
    )
    if kill is not None:
        extra = stats["billed"] - args.images
        figures["kill"] = {**kill, "billed_beyond_rows": extra}
        passed = passed and extra <= kill["calls_in_flight_bound"]
    figures["passed"] = bool(passed)
    return figures


def _print_task_log(base: Path, ti: dict[str, Any]) -> None:
    """The end of a task's log, so a failed run explains itself."""
    task = f"task_id={ti['task_id']}"
    logs = sorted((base / "airflow" / "logs").glob(f"dag_id={DAG_ID}/*/{task}/**/*.log"))
    index = ti["map_index"]
    logs = [p for p in logs if index < 0 or f"map_index={index}" in str(p)] or logs
    log(f"task {ti['task_id']}[{index}] is {ti['state']}; end of {logs[-1] if logs else 'its log (none found)'}:")
    if logs:
        print("\n".join(logs[-1].read_text(errors="replace").splitlines()[-40:]), flush=True)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _wait_workers(deployment: Deployment, workers: list[subprocess.Popen[bytes]]) -> None:
    """Both workers connected to the broker (their log says 'ready')."""
    deadline = time.monotonic() + 300
    for n, proc in enumerate(workers, start=1):
        while "ready." not in (deployment.logs / f"worker{n}.log").read_text(errors="replace"):
            if proc.poll() is not None:
                raise SystemExit(f"worker{n} exited:\n{deployment.tail(f'worker{n}')}")
            if time.monotonic() > deadline:
                raise SystemExit(f"worker{n} did not become ready:\n{deployment.tail(f'worker{n}')}")
            time.sleep(1)


def _kill_a_worker(
    deployment: Deployment, workers: list[subprocess.Popen[bytes]], endpoint: str, api: Api, run_id: str
) -> dict[str, Any]:
    """SIGKILL the busier worker and every process under it (its task processes too), as a lost machine."""
    busiest = max(workers, key=lambda p: len(descendants(p.pid)))
    victims = [busiest.pid, *descendants(busiest.pid)]
    instances = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances?limit=1000")["task_instances"]
    running = [ti for ti in instances if ti["task_id"] == "recognise_shard" and ti["state"] == "running"]
    # A task's pid is its process on the worker: those under the killed worker are the lost tasks.
    lost = [ti["map_index"] for ti in running if ti.get("pid") in victims]
    before = emulator_stats(endpoint)
    for pid in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    name = f"worker{workers.index(busiest) + 1}"
    log(
        f"SIGKILLed {name} and its {len(victims) - 1} child processes at {before['billed']} billed, "
        f"{before['in_flight']} calls in flight at the emulator; shards lost with it: {lost or 'none known'}"
    )
    # The emulator sees the calls it is still working on; a call it had answered but whose answer the
    # killed task had not yet stored is in flight too, from the client's side. The ceiling is what the
    # lost tasks may have in flight at most: max_in_flight (16 by default) each.
    return {
        "worker": name,
        "billed_at_kill": before["billed"],
        "in_flight_at_kill": before["in_flight"],
        "running_shards_at_kill": sorted(ti["map_index"] for ti in running),
        "shards_lost": lost,
        "calls_in_flight_bound": MAX_IN_FLIGHT * max(1, len(lost) or len(running)),
    }


def _wait_report(api: Api, deadline: float) -> dict[str, Any] | None:
    """The warn report DAG run the dataset's Asset event triggered, once it has finished."""
    while time.monotonic() < deadline:
        runs = api.call("GET", f"/dags/{REPORT_DAG_ID}/dagRuns?limit=10")["dag_runs"]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        if done:
            return {"run_id": done[0]["dag_run_id"], "state": done[0]["state"], "run_type": done[0]["run_type"]}
        time.sleep(2)
    events = api.call("GET", "/assets/events?limit=5&order_by=-timestamp").get("asset_events", [])
    log(f"no finished {REPORT_DAG_ID} run; its runs: {[(r['dag_run_id'], r['state']) for r in runs]}")
    log(f"latest asset events: {[(e.get('uri'), e.get('source_task_id'), e.get('created_dagruns')) for e in events]}")
    dag = api.call("GET", f"/dags/{REPORT_DAG_ID}")
    log(f"{REPORT_DAG_ID}: paused={dag.get('is_paused')} import errors={dag.get('has_import_errors')}")
    return None


def _check_dataset(data: Path, images: int) -> dict[str, Any]:
    """Rows ok / rows / distinct ids of the dataset folder against the manifest (DuckDB over the glob)."""
    import duckdb

    folder = data / "singapore_id_cards_sharded"
    con = duckdb.connect()
    glob = str(folder / "*.parquet")
    rows, ok, distinct = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'ok'), count(DISTINCT record_id) FROM read_parquet(?)",
        [glob],
    ).fetchone()
    expected = {f"card-{i:06d}" for i in range(images)}
    got = {r for (r,) in con.execute("SELECT record_id FROM read_parquet(?)", [glob]).fetchall()}
    report_json = data / "report" / "warn_report.json"
    report_rows = json.loads(report_json.read_text())["rows"] if report_json.exists() else None
    return {
        "parts": len(list(folder.glob("*.parquet"))),
        "rows": rows,
        "rows_ok": ok,
        "distinct_ids": distinct,
        "missing": len(expected - got),
        "unexpected": len(got - expected),
        "dataset_exact": rows == ok == distinct == images and got == expected,
        "warn_report_rows": report_rows,
    }


if __name__ == "__main__":
    sys.exit(main())
