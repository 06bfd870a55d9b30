"""TencentOcrHook.recognize: any ID-document action over real HTTP, with its own request and answer shape."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from document_responses import PORTRAIT, RESPONSES
from helpers import make_png

from airflow_provider_tencent_ocr.actions.registry import ACTIONS, UnsupportedActionError
from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer, connection_json

SG_CARD = {"EnName": "XIA YUNYANG", "Birthday": "12/04/1988", "ID": "S1234567D", "Sex": "M"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(recogniser=FixtureRecogniser(unknown="reject"), rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        yield server


class _Service:
    """A loopback service answering each action with its documented answer, recording what it was sent.

    Stands in for the emulator for actions it does not serve yet; the signature is not checked here
    (the emulator's tests do that), the request shape and the answer shape are.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                action = self.headers.get("X-TC-Action", "")
                service.requests.append((action, body))
                answer = json.dumps({"Response": RESPONSES[action]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _Service:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Service]:
    with _Service() as running:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", connection_json(running.endpoint))
        yield running


def test_singapore_through_recognize_against_the_emulator(emulator: EmulatorServer) -> None:
    image = make_png(seed=3)
    emulator.recogniser.add(image, SG_CARD, [-9108])
    result = TencentOcrHook().recognize("RecognizeSingaporeIDCardOCR", image_base64=b64(image), return_head_image=True)
    assert result.action == "RecognizeSingaporeIDCardOCR"
    assert result.fields["ID"] == "S1234567D" and result.fields["Birthday"] == "12/04/1988"
    assert "Photo" not in result.fields and result.photo
    assert result.warn_codes == (-9108,) and len(result.request_id) == 36
    assert ACTIONS["RecognizeSingaporeIDCardOCR"].common(result.fields).number_valid is True
    assert emulator.stats.billed == 1


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_over_http(service: _Service, action: str) -> None:
    image = make_png(seed=5)
    result = TencentOcrHook().recognize(action, image_base64=b64(image), return_head_image=True)
    sent_action, body = service.requests[-1]
    spec = ACTIONS[action]
    assert sent_action == action
    assert body == {"ImageBase64": b64(image), spec.head_image_param: True}
    assert result.action == action and result.fields
    assert not set(result.fields) & set(spec.image_fields)


def test_portrait_parameter_only_when_asked(service: _Service) -> None:
    TencentOcrHook().recognize("RecognizeThaiIDCardOCR", image_base64=b64(make_png(seed=6)))
    assert service.requests[-1][1] == {"ImageBase64": b64(make_png(seed=6))}


def test_value_objects_over_http(service: _Service) -> None:
    result = TencentOcrHook().recognize("RecognizePhilippinesVoteIDOCR", image_base64=b64(make_png()))
    assert result.fields["LastName"] == "DELA CRUZ" and result.photo == PORTRAIT


@pytest.mark.parametrize("action", ["MLIDCardOCR", "HKIDCardOCR", "MLIDPassportOCR"])
def test_image_url_refused_outside_the_mainland_before_any_call(service: _Service, action: str) -> None:
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize(action, image_url="https://bucket.example/card.png")
    assert err.value.code == "ImageUrlNotSupported"
    assert action in str(err.value) and "ap-singapore" in str(err.value) and "image_base64" in str(err.value)
    assert "bucket.example" not in str(err.value)
    assert service.requests == []


def test_image_url_sent_where_supported(service: _Service) -> None:
    TencentOcrHook().recognize("RecognizeThaiIDCardOCR", image_url="http://127.0.0.1:1/card.png")
    assert service.requests[-1][1] == {"ImageUrl": "http://127.0.0.1:1/card.png"}


def test_image_url_accepted_in_a_mainland_region(service: _Service) -> None:
    hook = TencentOcrHook(region="ap-guangzhou")
    hook.recognize("HKIDCardOCR", image_url="http://127.0.0.1:1/card.png")
    assert service.requests[-1][1] == {"ImageUrl": "http://127.0.0.1:1/card.png"}


def test_unknown_action_and_missing_image(service: _Service) -> None:
    with pytest.raises(UnsupportedActionError, match="RecognizeMarsIDCardOCR"):
        TencentOcrHook().recognize("RecognizeMarsIDCardOCR", image_base64=b64(make_png()))
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize("MLIDCardOCR")
    assert err.value.code == "MissingImage"
    assert service.requests == []


def test_each_actions_image_size_limit(service: _Service) -> None:
    big = "A" * (2 * 1024 * 1024 + 4)  # over Indonesia's 2 MB, under everyone else's 7 MB
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize("RecognizeIndonesiaIDCardOCR", image_base64=big)
    assert err.value.code == "ImageTooLarge" and str(2 * 1024 * 1024) in err.value.message
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize("MLIDCardOCR", image_base64=big)
    assert err.value.code != "ImageTooLarge"  # refused later, as not an image
    assert service.requests == []


# Actions whose number carries a check (number_valid) and those whose number encodes birth date and sex.
CHECKED = {
    "RecognizeSingaporeIDCardOCR",
    "MLIDCardOCR",
    "HKIDCardOCR",
    "RecognizeThaiIDCardOCR",
    "RecognizeIndonesiaIDCardOCR",
    "MLIDPassportOCR",
}
ENCODED = {"MLIDCardOCR", "RecognizeIndonesiaIDCardOCR", "MLIDPassportOCR"}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_action_against_the_emulator(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    # The emulator's synthetic cards are built independently from the same reference, with valid numbers.
    with EmulatorServer(recogniser=FixtureRecogniser(unknown="synthesise"), rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        result = TencentOcrHook().recognize(action, image_base64=b64(make_png(seed=11)), return_head_image=True)
        assert server.stats.billed == 1
    spec = ACTIONS[action]
    common = spec.common(result.fields)
    assert result.photo and not set(result.fields) & set(spec.image_fields)
    assert common.document_number and common.full_name and common.birth_date
    assert common.number_valid is (True if action in CHECKED else None)
    assert common.number_consistent is (True if action in ENCODED else None)


BMP = b"BM" + bytes(60)  # a bitmap, as its first bytes say


def test_each_actions_image_formats(service: _Service) -> None:
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize("MLIDCardOCR", image_base64=b64(BMP))
    assert err.value.code == "UnsupportedImageFormat"
    assert "MLIDCardOCR takes JPEG or PNG images; this one is BMP" in err.value.message
    assert service.requests == []
    TencentOcrHook().recognize("RecognizeThaiIDCardOCR", image_base64=b64(BMP))  # the Thai action takes BMP
    assert service.requests[-1][0] == "RecognizeThaiIDCardOCR"
