"""Network failures over real loopback sockets: which timeout fired, and whether the call may have been billed.

A connect failure never reached the service (safe to resend at once); a read timeout or a
connection lost after sending may have been recognised and billed (back off before resending).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from helpers import make_png
from hostile_http import closed_port, hostile_server, unaccepting_port

from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError, TencentOcrError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from tencent_ocr_emulator.server import EmulatorServer

IMAGE = base64.b64encode(make_png(seed=11)).decode()


def _use(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    conn = {"conn_type": "tencentcloud", "login": "AKIDnet", "password": "k", "extra": {"endpoint": endpoint}}
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))


def _network_error(timeout: float, connect_timeout: float | None = None) -> TencentCloudAPIError:
    with pytest.raises(TencentCloudAPIError) as err:
        hook = TencentOcrHook(timeout=timeout, connect_timeout=connect_timeout)
        hook.recognize_singapore_id_card(image_base64=IMAGE)
    assert isinstance(err.value, TencentOcrError)
    assert (err.value.code, err.value.kind) == ("ClientNetworkError", ErrorKind.RETRYABLE)
    return err.value


def test_closed_port_is_a_connect_failure_never_billed(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, f"http://127.0.0.1:{closed_port()}")
    error = _network_error(timeout=2)
    assert (error.timeout, error.may_have_been_billed) == (None, False)


def test_full_accept_queue_is_a_connect_timeout_never_billed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connect timeout is its own: a 60 s answer timeout does not make a dead host cost 60 s."""
    with unaccepting_port() as port:
        _use(monkeypatch, f"http://127.0.0.1:{port}")
        error = _network_error(timeout=60, connect_timeout=0.5)
    assert (error.timeout, error.may_have_been_billed) == ("connect", False)


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A server that reads the request and never answers."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.server.stop.wait(10)  # type: ignore[attr-defined]

    with hostile_server(answer) as server:
        _use(monkeypatch, server.endpoint)
        yield


def test_no_answer_is_a_read_timeout_that_may_have_been_billed(silent: None) -> None:
    error = _network_error(timeout=0.5)
    assert (error.timeout, error.may_have_been_billed) == ("read", True)
    assert "may have" in error.message


def test_connection_dropped_after_sending_may_have_been_billed(monkeypatch: pytest.MonkeyPatch) -> None:
    def hang_up(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.flush()
        handler.connection.close()

    with hostile_server(hang_up) as server:
        _use(monkeypatch, server.endpoint)
        error = _network_error(timeout=2)
        assert server.requests == 1
    assert (error.timeout, error.may_have_been_billed) == (None, True)


def test_body_trickled_past_the_timeout_is_a_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """One byte every 0.2 s never trips the per-read timeout; the hook's deadline on the answer does."""

    body = b'{"Response": {"RequestId": "x"}}' + b" " * 200

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        server = handler.server
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            if server.stop.is_set():  # type: ignore[attr-defined]
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            server.sent += 1  # type: ignore[attr-defined]
            time.sleep(0.2)

    with hostile_server(trickle) as server:
        _use(monkeypatch, server.endpoint)
        error = _network_error(timeout=1)
        sent = server.sent
    assert (error.timeout, error.may_have_been_billed) == ("read", True)
    assert sent < len(body)  # the hook gave up long before the 46 s the whole body takes


def test_emulator_latency_past_the_timeout_is_a_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(rate_limit=1000, latency=2.0) as emulator:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
        error = _network_error(timeout=0.3)
    assert (error.timeout, error.may_have_been_billed) == ("read", True)
