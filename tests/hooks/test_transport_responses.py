"""Answers of the wrong shape or size, over real HTTP: a per-row code with its attempts, never a crash or huge read."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from helpers import make_png
from hostile_http import Answer, HostileServer, hostile_server, send_endless, send_json

from airflow_provider_tencent_ocr.actions.singapore_id_card import MAX_RESPONSE_BYTES
from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook

IMAGE = base64.b64encode(make_png(seed=12)).decode()
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
        TencentOcrHook(timeout=5).recognize_singapore_id_card(image_base64=IMAGE, return_head_image=return_head_image)
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
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=IMAGE)
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
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=IMAGE, return_head_image=True)
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
