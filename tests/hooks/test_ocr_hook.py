"""TencentOcrHook against the emulator over real HTTP: results, and every error class mapped."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.actions.singapore_id_card import MAX_IMAGE_BASE64_BYTES
from airflow_provider_tencent_ocr.exceptions import ErrorKind, InvalidImageError, TencentCloudAPIError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer, Faults

CARD = {
    "ChName": "夏云阳",
    "EnName": "XIA YUNYANG",
    "Sex": "M",
    "CountryOfBirth": "CHINA",
    "Birthday": "12/04/1988",
    "ID": "S1234567D",
    "Race": "CHINESE",
}


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(recogniser=FixtureRecogniser(unknown="reject"), rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        yield server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_success_returns_all_fields_and_warn_codes(emulator: EmulatorServer) -> None:
    image = make_png(seed=1)
    emulator.recogniser.add(image, CARD, [-9108, -9107])
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=b64(image), return_head_image=True)
    assert (result.ch_name, result.en_name, result.id_number, result.birthday) == (
        "夏云阳",
        "XIA YUNYANG",
        "S1234567D",
        "12/04/1988",
    )
    assert result.address == "" and result.post_code == ""
    assert result.warn_codes == (-9108, -9107)
    assert result.warn_flags()["warn_blurry"] and result.warn_flags()["warn_reflective"]
    assert not result.warn_flags()["warn_covered"]
    assert result.photo  # portrait only because it was asked for
    assert len(result.request_id) == 36
    assert "S1234567D" not in repr(result) and "XIA" not in str(result)
    assert emulator.stats.billed == 1


def test_no_head_image_unless_asked(emulator: EmulatorServer) -> None:
    image = make_png(seed=2)
    emulator.recogniser.add(image, CARD)
    assert TencentOcrHook().recognize_singapore_id_card(image_base64=b64(image)).photo is None


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({}, "MissingImage"),
        ({"image_base64": b64(b"GIF89a" + b"0" * 50)}, "UnsupportedImageFormat"),
        ({"image_base64": "A" * (MAX_IMAGE_BASE64_BYTES + 4)}, "ImageTooLarge"),
        ({"image_base64": "not base64!"}, "InvalidBase64"),
    ],
)
def test_bad_input_is_rejected_before_any_call(emulator: EmulatorServer, kwargs: dict, code: str) -> None:
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize_singapore_id_card(**kwargs)
    assert err.value.code == code
    assert emulator.stats.requests == 0


def _api_error(**kwargs: object) -> TencentCloudAPIError:
    with pytest.raises(TencentCloudAPIError) as err:
        TencentOcrHook(**kwargs).recognize_singapore_id_card(image_base64=b64(make_png(seed=3)))
    assert err.value.code and err.value.message
    return err.value


@pytest.mark.parametrize(
    ("faults", "code"),
    [
        (Faults(internal_error=1.0), "InternalError"),
        (Faults(throttle=1.0), "RequestLimitExceeded"),
        (Faults(http_5xx=1.0), "ServerNetworkError"),
        (Faults(drop=1.0), "ClientNetworkError"),
    ],
)
def test_transient_faults_are_retryable(emulator: EmulatorServer, faults: Faults, code: str) -> None:
    emulator.faults = faults
    error = _api_error()
    assert (error.code, error.kind) == (code, ErrorKind.RETRYABLE)
    if code == "ServerNetworkError":
        assert error.http_status == 502
    if code in ("InternalError", "RequestLimitExceeded"):
        assert error.request_id


def test_rate_limit_per_secret_id(emulator: EmulatorServer) -> None:
    emulator.limiter.rate = 2
    hook = TencentOcrHook()
    codes = []
    for seed in range(4):
        try:
            hook.recognize_singapore_id_card(image_base64=b64(make_png(seed=seed)))
            codes.append("ok")
        except TencentCloudAPIError as err:
            codes.append(err.code)
    assert codes.count("RequestLimitExceeded") >= 2


def test_timeout_is_retryable(emulator: EmulatorServer) -> None:
    emulator.latency = 2.0
    error = _api_error(timeout=0.3)
    assert (error.code, error.kind) == ("ClientNetworkError", ErrorKind.RETRYABLE)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("FailedOperation.OcrFailed", ErrorKind.PER_IMAGE),
        ("FailedOperation.ImageNoIdCard", ErrorKind.PER_IMAGE),
        ("InvalidParameterValue.InvalidParameterValueLimit", ErrorKind.PER_IMAGE),
        ("InvalidParameter.EngineImageDecodeFailed", ErrorKind.PER_IMAGE),
        ("FailedOperation.UnOpenError", ErrorKind.FATAL),
        ("ResourcesSoldOut.ChargeStatusException", ErrorKind.FATAL),
        ("ResourceUnavailable.InArrears", ErrorKind.FATAL),
        ("FailedOperation.EngineRecognizeTimeout", ErrorKind.RETRYABLE),
    ],
)
def test_service_error_codes_are_classified(emulator: EmulatorServer, code: str, kind: ErrorKind) -> None:
    image = make_png(seed=3)
    emulator.recogniser.table[__import__("hashlib").sha256(image).hexdigest()] = {
        "Error": {"Code": code, "Message": "from the fixture"}
    }
    error = _api_error()
    assert (error.code, error.kind, error.message) == (code, kind, "from the fixture")


def test_image_errors_are_per_image(emulator: EmulatorServer) -> None:
    hook = TencentOcrHook()
    with pytest.raises(TencentCloudAPIError) as err:
        hook.call("RecognizeSingaporeIDCardOCR", {"ImageBase64": b64(b"not an image at all")})
    assert (err.value.code, err.value.kind) == ("FailedOperation.ImageDecodeFailed", ErrorKind.PER_IMAGE)
    assert _api_error().code == "FailedOperation.ImageNoIdCard"  # fixture rejects images it doesn't know


@pytest.fixture
def image_site() -> Iterator[str]:
    """A loopback web server with one image and nothing else."""
    image = make_png(seed=9)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/card.png":
                self.send_response(200)
                self.send_header("Content-Length", str(len(image)))
                self.end_headers()
                self.wfile.write(image)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_image_url_download_and_download_error(emulator: EmulatorServer, image_site: str) -> None:
    emulator.recogniser.add(make_png(seed=9), CARD)
    hook = TencentOcrHook()
    assert hook.recognize_singapore_id_card(image_url=f"{image_site}/card.png").id_number == "S1234567D"
    with pytest.raises(TencentCloudAPIError) as err:
        hook.recognize_singapore_id_card(image_url=f"{image_site}/missing.png")
    assert (err.value.code, err.value.kind) == ("FailedOperation.DownLoadError", ErrorKind.PER_IMAGE)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"password": "wrong-key"}, "AuthFailure.SignatureFailure"),
        ({"login": "AKIDnobody"}, "AuthFailure.SecretIdNotFound"),
        ({"extra": {"region": "ap-guangzhou"}}, "UnsupportedRegion"),
    ],
)
def test_account_errors_are_fatal(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, change: dict, code: str
) -> None:
    conn = json.loads(emulator.connection_json())
    extra = {**conn["extra"], **change.pop("extra", {})}
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps({**conn, **change, "extra": extra}))
    error = _api_error()
    assert (error.code, error.kind) == (code, ErrorKind.FATAL)
    ok, message = TencentOcrHook().test_connection()
    assert not ok and code in message


def test_test_connection_proves_credentials_without_billing(emulator: EmulatorServer) -> None:
    ok, message = TencentOcrHook().test_connection()
    assert ok, message
    assert emulator.stats.billed == 0 and emulator.stats.requests == 1


def test_test_connection_reports_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer() as server:
        conn = server.connection_json()
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", conn)  # the server is gone now
    ok, message = TencentOcrHook().test_connection()
    assert not ok and message.startswith("ClientNetworkError")


@pytest.fixture
def broken_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A loopback server that answers /short with half a body and everything else with an HTML 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.server.mode == "short":  # type: ignore[attr-defined]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b'{"Response": ')
                self.wfile.flush()
                self.connection.close()
            else:
                self.send_error(404, "Not Found")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.mode = "404"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = {
        "conn_type": "tencentcloud",
        "login": "AKIDx",
        "password": "k",
        "extra": {"endpoint": f"http://127.0.0.1:{server.server_address[1]}"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
    yield server  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def test_connection_lost_mid_answer_is_a_retryable_api_error(broken_endpoint) -> None:
    broken_endpoint.mode = "short"
    error = _api_error()
    assert (error.code, error.kind) == ("ClientNetworkError", ErrorKind.RETRYABLE)


def test_test_connection_fails_for_an_endpoint_that_is_not_the_service(broken_endpoint) -> None:
    ok, message = TencentOcrHook().test_connection()
    assert not ok and "404" in message
