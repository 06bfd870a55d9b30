"""The wire: network failures (which timeout fired, may it have been billed) and answers of the wrong shape or size.

A connect failure never reached the service (safe to resend at once); a read timeout or a
connection lost after sending may have been recognised and billed (back off before resending).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from helpers import make_png
from hostile_http import Answer, HostileServer, closed_port, hostile_server, send_endless, send_json, unaccepting_port

from airflow_provider_tencent_ocr.actions.singapore_id_card import MAX_RESPONSE_BYTES
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


# -- answers of the wrong shape or size ------------------------------------------------------------
# Answers of the wrong shape or size, over real HTTP: a per-row code with its attempts, never a crash or huge read.

REPLY_IMAGE = base64.b64encode(make_png(seed=12)).decode()
GOOD = {"ID": "S1234567D", "EnName": "TAN AH KOW", "WarnCardInfos": [-9108], "RequestId": "req-good"}


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Answer], HostileServer]]:
    """Start a server answering as told, make it the default connection; stopped after the test."""
    with ExitStack() as stack:

        def start(answer: Answer) -> HostileServer:
            server = stack.enter_context(hostile_server(answer))
            monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection())
            return server

        yield start


def _api_error(return_head_image: bool = False) -> TencentCloudAPIError:
    with pytest.raises(TencentCloudAPIError) as err:
        TencentOcrHook(timeout=5).recognize_singapore_id_card(
            image_base64=REPLY_IMAGE, return_head_image=return_head_image
        )
    return err.value


@pytest.mark.parametrize(
    "bad",
    [
        {"ID": 1234567},
        {"EnName": {"first": "TAN"}},
        {"Address": ["1 ROAD"]},
        {"Photo": 42},
        {"WarnCardInfos": "-9101"},
        {"WarnCardInfos": [-9101, "x"]},
        {"WarnCardInfos": [True]},
        {"RequestId": 7},
    ],
)
def test_field_of_the_wrong_type_is_a_per_image_invalid_response(serve: Callable, bad: dict) -> None:
    server = serve(lambda h: send_json(h, {"Response": {**GOOD, **bad}}))
    error = _api_error()
    assert (error.code, error.kind, error.may_have_been_billed) == ("InvalidResponse", ErrorKind.PER_IMAGE, True)
    assert next(iter(bad)) in error.message  # names the field...
    assert "1234567" not in error.message and "TAN" not in error.message  # ...never its value
    assert error.request_id == (None if "RequestId" in bad else "req-good")
    assert server.requests == 1


def test_documented_shape_still_parses(serve: Callable) -> None:
    serve(lambda h: send_json(h, {"Response": {**GOOD, "Sex": None}}))
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=REPLY_IMAGE)
    assert (result.id_number, result.sex, result.warn_codes, result.request_id) == (
        "S1234567D",
        "",
        (-9108,),
        "req-good",
    )


def test_endless_body_is_refused_after_the_cap(serve: Callable) -> None:
    """A 400 MB chunked answer: the hook stops past 1 MiB; the server never gets to send it all."""
    server = serve(send_endless)
    error = _api_error()
    sent = server.sent
    assert (error.code, error.kind, error.may_have_been_billed) == ("ResponseTooLarge", ErrorKind.PER_IMAGE, True)
    assert sent < 64 * MAX_RESPONSE_BYTES  # kernel buffers hold a few MB at most, not 400


def test_announced_huge_body_is_refused_unread(serve: Callable) -> None:
    def announce(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(300 * 1024 * 1024))
        handler.end_headers()
        handler.wfile.write(b'{"Response": {')

    serve(announce)
    error = _api_error()
    assert error.code == "ResponseTooLarge"


def test_a_portrait_raises_the_cap(serve: Callable) -> None:
    """3 MB of portrait is fine when the portrait was asked for, refused when it was not."""
    photo = base64.b64encode(make_png(seed=1) + b"\0" * (2 * 1024 * 1024)).decode()
    serve(lambda h: send_json(h, {"Response": {**GOOD, "Photo": photo}}))
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=REPLY_IMAGE, return_head_image=True)
    assert result.photo and len(result.photo) > 2 * 1024 * 1024
    assert _api_error(return_head_image=False).code == "ResponseTooLarge"


def test_runner_writes_the_code_with_its_attempt(serve: Callable, tmp_path: Path) -> None:
    """Through the runner, a wrong-typed answer is one error row with attempts=1 (billed once, not retried)."""
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    image = tmp_path / "card.png"
    image.write_bytes(make_png(seed=13))
    rows: list[dict[str, Any]] = []

    class Sink:
        def write_rows(self, batch: list[dict[str, Any]]) -> None:
            rows.extend(batch)

    server = serve(lambda h: send_json(h, {"Response": {**GOOD, "WarnCardInfos": ["x"]}}))
    OcrRunner(TencentOcrHook(), RunOptions(retry_max_wait=0.05)).run(manifest_from_images([str(image)]), Sink())
    (row,) = [json.loads(json.dumps(r, default=str)) for r in rows]
    assert (row["status"], row["error_code"], row["attempts"], row["request_id"]) == (
        "error",
        "InvalidResponse",
        1,
        "req-good",
    )
    assert server.requests == 1


def test_body_that_is_not_the_gzip_it_claims_is_unreadable(serve: Callable) -> None:
    def fake_gzip(handler: BaseHTTPRequestHandler) -> None:
        body = b"this is not gzip at all" * 10
        handler.send_response(200)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    serve(fake_gzip)
    error = _api_error()
    assert (error.code, error.kind, error.message.startswith("unreadable")) == (
        "ServerNetworkError",
        ErrorKind.RETRYABLE,
        True,
    )


def test_json_nested_past_the_parser_depth_is_unreadable(serve: Callable) -> None:
    """It used to escape as a RecursionError: the row said InternalClientError "unexpected RecursionError"."""

    def deep(handler: BaseHTTPRequestHandler) -> None:
        body = b'{"Response": {"RequestId": "r", "EnName": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    serve(deep)
    error = _api_error()
    assert (error.code, error.kind, error.message.startswith("unreadable")) == (
        "ServerNetworkError",
        ErrorKind.RETRYABLE,
        True,
    )
