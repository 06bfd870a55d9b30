"""Airflow's SIGTERM stops the billing at once: a real task process, a real signal, the emulator counting.

The child process runs the operator the way Airflow's task runner does on a worker: its SIGTERM
handler calls ``task.on_kill()`` (``airflow.sdk.execution_time.task_runner``: ``_on_term``) and
``execute`` carries on until it returns or raises; the supervisor SIGKILLs later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.io.cache import ResultCache
from tencent_ocr_emulator.server import EmulatorServer

CONN_ID = "tencentcloud_on_kill"
IN_FLIGHT = 4

_TASK = textwrap.dedent(
    """
    import collections, signal, sys, types
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    paths = open(sys.argv[1]).read().split()
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=paths, output=sys.argv[2], cache=sys.argv[3], tencentcloud_conn_id=sys.argv[4],
        max_in_flight=int(sys.argv[5]), batch_rows=10, progress_interval=60.0,
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: op.on_kill())  # what Airflow's task runner installs
    try:
        print("DONE", op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)}), flush=True)
    except Exception as err:
        print("FAILED", type(err).__name__, err, flush=True)
        sys.exit(1)
    """
)


@pytest.mark.slow
def test_sigterm_stops_the_calls_keeps_what_was_paid_and_leaves_no_temp_file(tmp_path, monkeypatch):
    folder = tmp_path / "img"
    folder.mkdir()
    paths = []
    for i in range(300):
        path = folder / f"card_{i:04d}.png"
        path.write_bytes(make_png(5, 5, seed=i))
        paths.append(str(path))
    listing = tmp_path / "paths.txt"
    listing.write_text("\n".join(paths))
    out, cache = tmp_path / "out" / "cards.parquet", tmp_path / "cache"
    with EmulatorServer(rate_limit=1000, latency=0.1) as emulator:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.connection_json())
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        args = [sys.executable, "-c", _TASK, str(listing), str(out), str(cache), CONN_ID, str(IN_FLIGHT)]
        child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while emulator.stats.billed < 30 and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            assert child.poll() is None, child.communicate()
            child.send_signal(signal.SIGTERM)
            requests_at_kill = emulator.stats.requests
            stdout, stderr = child.communicate(timeout=20)  # it ends by itself: no SIGKILL needed
        finally:
            if child.poll() is None:
                child.kill()
        requests_after = emulator.stats.requests
        billed = emulator.stats.billed
    assert child.returncode == 1 and "FAILED RunStopped" in stdout, (stdout, stderr[-3000:])
    # Only the calls already on the wire (and a pacing slot being taken) went out after the signal.
    assert requests_after - requests_at_kill <= IN_FLIGHT + 1
    assert billed < 300
    with ResultCache(str(cache)) as results:
        assert len(results) == billed  # every paid result is kept for the next attempt
    assert not out.exists()  # nothing published
    leftovers = [p.name for p in out.parent.iterdir()] if out.parent.exists() else []
    assert not [name for name in leftovers if name.endswith(".tmp") or name.startswith("_failed_")], leftovers
