"""Runs that used to end "successfully" although nothing worked: each now fails, clearly, without retries.

Real signed HTTP on loopback: a closed port (every connection refused), a proxy-like server that
answers every call with an HTML 403 and no RequestId, and the emulator for cached reruns.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import socket
import threading
import types
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import make_png
from hostile_http import closed_port, hostile_server

from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator
from airflow_provider_tencent_ocr.run.runner import ServiceUnreachable
from airflow_provider_tencent_ocr.run.worker import UNREACHED_LIMIT

CONN_ID = "tencentcloud_faults"


def images(folder: Path, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"card_{i:03d}.png"
        path.write_bytes(make_png(5, 5, seed=i))
        paths.append(str(path))
    return paths


def run(tmp_path: Path, n: int = 40, **kwargs):
    out = tmp_path / "out" / "cards.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"the published table")
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr",
        images=images(tmp_path / "img", n),
        output=str(out),
        tencentcloud_conn_id=CONN_ID,
        max_in_flight=2,
        max_attempts=5,
        progress_interval=60.0,
        **kwargs,
    )
    context = {"outlet_events": collections.defaultdict(types.SimpleNamespace)}
    return op, out, context


def test_refused_endpoint_is_a_configuration_failure(tmp_path, monkeypatch):
    port = closed_port()
    conn = {
        "conn_type": "tencentcloud",
        "login": "AKIDx",
        "password": "key",
        "extra": {"endpoint": f"http://127.0.0.1:{port}"},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    op, out, context = run(tmp_path)
    with pytest.raises(AirflowFailException) as raised:  # Airflow does not retry it
        op.execute(context)
    assert isinstance(raised.value.__context__, ServiceUnreachable)
    message = str(raised.value)
    assert CONN_ID in message and f"http://127.0.0.1:{port}" in message
    assert "check the images" not in message.lower() and "Nothing was billed" in message
    assert out.read_bytes() == b"the published table"  # never replaced by a table of error rows
    # Printed once: not a second exception "caused by" one with the same message.
    assert raised.value.__cause__ is None or str(raised.value.__cause__) != message


def test_refused_connections_are_not_api_calls_and_the_run_stops_early(tmp_path, monkeypatch):
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    conn = {"conn_type": "tencentcloud", "login": "AKIDx", "password": "key"}
    conn["extra"] = {"endpoint": f"http://127.0.0.1:{closed_port()}"}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    runner = OcrRunner(TencentOcrHook(CONN_ID), RunOptions(max_in_flight=2, retry_max_wait=0.01, progress_interval=60))
    rows: list[dict] = []
    with pytest.raises(ServiceUnreachable):
        runner.run(manifest_from_images(images(tmp_path / "img", 200)), types.SimpleNamespace(write_rows=rows.extend))
    worker = runner.last_run
    assert worker is not None and worker.calls == 0  # a refused connection is not an API call
    # Stopped after a few attempts, not 200 rows x 5 attempts: what was in flight when it tripped, at most.
    assert UNREACHED_LIMIT <= worker.connect_failures <= UNREACHED_LIMIT + 2 * 2


def _html_403(handler):
    body = b"<html><body><h1>403 Forbidden</h1>Request blocked by the web application firewall</body></html>"
    handler.send_response(403)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def test_a_proxy_answering_html_403_to_everything_is_a_configuration_failure(tmp_path, monkeypatch):
    with hostile_server(_html_403) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", server.connection())
        op, out, context = run(tmp_path)
        with pytest.raises(AirflowFailException) as raised:
            op.execute(context)
        requests = server.requests
    message = str(raised.value)
    assert isinstance(raised.value.__context__, ServiceUnreachable)
    assert "HTTP 403" in message and "without a RequestId" in message and server.endpoint in message
    assert CONN_ID in message and "check the images" not in message.lower()
    assert requests <= UNREACHED_LIMIT + 2 * 2  # stopped early, not one call per row
    assert out.read_bytes() == b"the published table"


def test_a_rerun_served_from_the_cache_says_the_credentials_were_not_used(
    tmp_path, tencent_ocr_emulator, monkeypatch, caplog
):
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", tencent_ocr_emulator.connection_json())
    op, out, context = run(tmp_path, n=3)
    first = op.execute(context)
    assert first["credentials_used"] is True and first["api_calls"] == 3
    # The key is now wrong: a rerun from the cache cannot notice, and must say so.
    conn = json.loads(tencent_ocr_emulator.connection_json())
    conn["password"] = "a-wrong-secret-key"
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    op, out, context = run(tmp_path, n=3)
    with caplog.at_level(logging.INFO, logger="airflow_provider_tencent_ocr"):
        second = op.execute(context)
    assert second["credentials_used"] is False and second["api_calls"] == 0 and second["cache_hits"] == 3
    assert any("credentials were not used" in r.getMessage() for r in caplog.records)
    assert pq.read_table(out).num_rows == 3


def test_a_header_the_client_refuses_stops_the_run_as_a_configuration_failure(
    tmp_path, tencent_ocr_emulator, monkeypatch
):
    """Not one ClientNetworkError row per image and a task that succeeds: one stop, nothing sent or billed."""
    from dataclasses import replace

    from airflow_provider_tencent_ocr.exceptions import RunAborted
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", tencent_ocr_emulator.connection_json())
    hook = TencentOcrHook(CONN_ID)
    hook.config = replace(hook.config, token="sts-token\n")  # type: ignore[misc]  # got past the connection checks
    rows: list[dict] = []
    with pytest.raises(RunAborted) as raised:
        OcrRunner(hook, RunOptions(max_in_flight=2, progress_interval=60)).run(
            manifest_from_images(images(tmp_path / "img", 30)), types.SimpleNamespace(write_rows=rows.extend)
        )
    assert raised.value.error is not None and raised.value.error.code == "InvalidHeader"
    assert "sts-token" not in str(raised.value) and "Nothing was paid for" in str(raised.value)
    assert tencent_ocr_emulator.stats.requests == 0 and rows == []


def test_a_first_wave_of_proxy_errors_on_a_working_service_does_not_stop_the_run(tmp_path, monkeypatch):
    """Up to two failures per call in flight before any answer are a flaky start, not a wrong endpoint."""
    from hostile_http import send_json

    def first_six_fail(handler):
        if handler.server.requests <= 6:
            handler.send_response(502)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        send_json(handler, {"Response": {"EnName": "TAN", "ID": "S1234567D", "RequestId": "r"}})

    with hostile_server(first_six_fail) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", server.connection())
        op, out, context = run(tmp_path, n=4, retry_deadline=60)
        op.max_in_flight = 4  # limit: max(5, 2 x 4) = 8 calls without an answer from the API
        summary = op.execute(context)
    assert summary["ok"] == 4 and summary["retries"]["server_error"] >= 1


@contextlib.contextmanager
def _hangs_up_at_once():
    """A loopback port that accepts every connection and closes it at once, answering nothing."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_port_that_accepts_and_hangs_up_is_a_configuration_failure(tmp_path, monkeypatch):
    """It used to end green: every row ClientNetworkError after 5 attempts each, 150 "API calls"."""
    with _hangs_up_at_once() as port:
        conn = {"conn_type": "tencentcloud", "login": "AKIDx", "password": "key"}
        conn["extra"] = {"endpoint": f"http://127.0.0.1:{port}"}
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
        op, out, context = run(tmp_path, n=30, retry_deadline=60)
        with pytest.raises(AirflowFailException) as raised:
            op.execute(context)
    message = str(raised.value)
    assert isinstance(raised.value.__context__, ServiceUnreachable)
    assert CONN_ID in message and f"http://127.0.0.1:{port}" in message and "without answering" in message
    assert out.read_bytes() == b"the published table"


@pytest.mark.parametrize(
    "payload",
    [
        {"Response": {}},
        {"Response": {"EnName": "TAN", "ID": "S1234567D"}},  # looks like a result, but no RequestId
        {"Response": {"EnName": "TAN", "ID": "S1234567D", "RequestId": ""}},
        {"Response": {"Error": {"Code": "InvalidParameter", "Message": "x"}}},
    ],
)
def test_json_without_a_request_id_is_not_the_api(tmp_path, monkeypatch, payload):
    """Used to end green: 100% InvalidResponse rows, or even ok rows made of another server's JSON."""
    from hostile_http import send_json

    with hostile_server(lambda handler: send_json(handler, payload)) as server:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", server.connection())
        op, out, context = run(tmp_path, n=30)
        with pytest.raises(AirflowFailException) as raised:
            op.execute(context)
        requests = server.requests
    message = str(raised.value)
    assert isinstance(raised.value.__context__, ServiceUnreachable)
    assert "without a RequestId" in message and server.endpoint in message and CONN_ID in message
    assert requests <= UNREACHED_LIMIT + 2 * 2
    assert out.read_bytes() == b"the published table"
