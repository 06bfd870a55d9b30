"""Every way the real API accepts a request works on the emulator, and every answer is in its envelope.

Requests are signed by ``emulator/tests/emulator_client.py``, written from the published algorithms and
sharing no code with the emulator, so each checks the other.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator

import pytest
from emulator_client import Client, code, send
from sample_images import make_png

from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer

FIELDS = {"EnName": "LIM BEE HOON", "Sex": "F", "ID": "S1234567D"}
IMAGE = make_png(30, 20, seed=9)
B64 = base64.b64encode(IMAGE).decode()


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    recogniser = FixtureRecogniser(unknown="reject")
    recogniser.add(IMAGE, FIELDS)
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as emulator:
        yield emulator


@pytest.fixture
def client(server: EmulatorServer) -> Client:
    return Client(server.endpoint, server.secret_id, server.secret_key)


def _fields(answer: dict) -> dict[str, str]:
    assert code(answer) is None, answer
    return {k: answer["Response"][k] for k in FIELDS}


def test_tc3_over_post_and_get(client: Client, server: EmulatorServer) -> None:
    assert _fields(client.tc3_post({"ImageBase64": B64})[1]) == FIELDS
    status, answer = client.tc3_get({"ImageBase64": B64, "ReturnHeadImage": "true"})
    assert status == 200 and _fields(answer) == FIELDS
    assert base64.b64decode(answer["Response"]["Photo"]) == IMAGE[:64]
    assert server.stats.billed == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("sign_method", ["HmacSHA1", "HmacSHA256"])
def test_signature_v1(client: Client, method: str, sign_method: str) -> None:
    status, answer = client.v1({"ImageBase64": B64}, method=method, sign_method=sign_method)
    assert status == 200 and _fields(answer) == FIELDS


def test_signature_v1_refusals(client: Client, server: EmulatorServer) -> None:
    assert code(client.v1({"ImageBase64": B64}, secret_key="wrong")[1]) == "AuthFailure.SignatureFailure"
    stale = int(time.time()) - 400
    assert code(client.v1({"ImageBase64": B64}, timestamp=stale)[1]) == "AuthFailure.SignatureExpire"
    assert code(client.v1({})[1]) == "MissingParameter"
    assert code(client.v1({"ImageBase64": B64, "Colour": "red"})[1]) == "UnknownParameter"
    # A signed parameter changed on the way: the signature no longer matches.
    params = client.v1_params({"ImageBase64": B64, "ReturnHeadImage": "false"}, method="GET")
    params["ReturnHeadImage"] = "true"
    target = "/?" + "&".join(f"{k}={v}" for k, v in params.items()).replace("+", "%2B")
    assert code(send(server.endpoint, "GET", target, {"Host": client.host})[1]) == "AuthFailure.SignatureFailure"
    assert server.stats.billed == 0


def test_tc3_cannot_sign_a_form_post(client: Client, server: EmulatorServer) -> None:
    body = b"ImageBase64=" + B64.encode()
    headers = client.tc3_headers(body=body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    status, answer = send(server.endpoint, "POST", "/", headers, body)
    assert status == 200 and code(answer) == "InvalidParameter"


@pytest.mark.parametrize(
    ("method", "target", "headers", "body", "status", "expected"),
    [
        ("GET", "/", {}, b"", 200, "MissingParameter"),  # a browser on the endpoint
        ("GET", "/?Action=RecognizeSingaporeIDCardOCR", {}, b"", 200, "MissingParameter"),
        ("GET", "/favicon.ico", {}, b"", 404, "ResourceNotFound"),
        ("POST", "/v2/index.php", {"Content-Type": "application/json"}, b"{}", 404, "ResourceNotFound"),
        ("PUT", "/", {"Content-Length": "0"}, b"", 501, "UnsupportedProtocol"),
        ("DELETE", "/", {}, b"", 501, "UnsupportedProtocol"),
        ("POST", "/", {"Content-Type": "application/json"}, b"{}", 200, "MissingParameter"),
        ("POST", "/", {"Content-Type": "text/plain"}, b"hello", 200, "InvalidParameter"),
        ("POST", "/", {"Content-Type": "application/json", "Authorization": "Bearer x"}, b"{}", 200, None),
    ],
)
def test_unsigned_or_odd_requests_get_the_envelope(
    server: EmulatorServer, method: str, target: str, headers: dict, body: bytes, status: int, expected: str | None
) -> None:
    got_status, answer = send(server.endpoint, method, target, headers, body)
    assert got_status == status
    assert code(answer) == (expected or "MissingParameter")  # X-TC-Action is checked before the signature


def test_malformed_http_gets_the_envelope(server: EmulatorServer) -> None:
    host, port = server.endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b'"Code": "InvalidParameter"' in payload and b'"RequestId"' in payload


def test_get_query_over_32_kb_is_refused(client: Client) -> None:
    status, answer = client.tc3_get({"ImageBase64": "A" * 40_000})
    assert status == 200 and code(answer) == "RequestSizeLimitExceeded"
    status, answer = client.tc3_get({"ImageBase64": "A" * 70_000})  # past the HTTP request-line limit
    assert status == 414 and code(answer) == "RequestSizeLimitExceeded"


def test_v1_form_post_over_1_mb_is_refused(client: Client) -> None:
    status, answer = client.v1({"ImageBase64": "A" * (1024 * 1024)}, method="POST")
    assert status == 200 and code(answer) == "RequestSizeLimitExceeded"


def test_stats_endpoint_is_not_the_api(server: EmulatorServer) -> None:
    status, answer = send(server.endpoint, "GET", "/__emulator__/stats", {})
    assert status == 200 and "billed" in answer
