"""TC3-HMAC-SHA256: the published vector through the SDK path the hook uses, and the emulator's verifier."""

from __future__ import annotations

import hashlib
import hmac
import json
from unittest import mock

import pytest
import requests
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.credential import Credential
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from tencent_ocr_emulator import signature
from tencent_ocr_emulator.server import EmulatorServer

VECTOR_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
VECTOR_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
VECTOR_TS = 1551113065
VECTOR_BODY = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
VECTOR_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "Host": "cvm.tencentcloudapi.com",
    "X-TC-Action": "DescribeInstances",
    "X-TC-Timestamp": str(VECTOR_TS),
    "X-TC-Version": "2017-03-12",
    "X-TC-Region": "ap-guangzhou",
}
VECTOR_AUTH = (
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
    "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
)


def _vector_client() -> CommonClient:
    profile = ClientProfile(httpProfile=HttpProfile(endpoint="cvm.tencentcloudapi.com"), disable_region_breaker=True)
    return CommonClient("cvm", "2017-03-12", Credential(VECTOR_ID, VECTOR_KEY), "ap-guangzhou", profile=profile)


def test_published_vector_through_the_sdk_signing_path() -> None:
    assert hashlib.sha256(VECTOR_BODY).hexdigest() == "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
    request = RequestInternal("cvm.tencentcloudapi.com", "POST", "/", header=dict(VECTOR_HEADERS), data=VECTOR_BODY)
    sdk_signature = _vector_client()._get_tc3_signature({}, request, "2019-02-25", "cvm", VECTOR_KEY)
    assert VECTOR_AUTH.endswith(f"Signature={sdk_signature}")

    canonical = signature.canonical_request("POST", "/", "", VECTOR_HEADERS, ["content-type", "host"], VECTOR_BODY)
    assert (
        hashlib.sha256(canonical.encode()).hexdigest()
        == "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    assert signature.signature(VECTOR_KEY, VECTOR_TS, "cvm", canonical) == sdk_signature


def test_published_vector_verified_by_the_emulator() -> None:
    headers = {**VECTOR_HEADERS, "Authorization": VECTOR_AUTH}
    creds = {VECTOR_ID: signature.Credentials(VECTOR_KEY)}
    kwargs = dict(method="POST", path="/", query="", body=VECTOR_BODY, service="cvm", credentials=creds)
    assert signature.verify(headers=headers, now=VECTOR_TS + 10, **kwargs) == VECTOR_ID
    with pytest.raises(signature.SignatureError) as err:
        signature.verify(headers=headers, now=VECTOR_TS + 301, **kwargs)
    assert err.value.code == "AuthFailure.SignatureExpire"
    with pytest.raises(signature.SignatureError) as err:
        signature.verify(headers=headers, now=VECTOR_TS, **{**kwargs, "body": VECTOR_BODY.replace(b"1", b"2")})
    assert err.value.code == "AuthFailure.SignatureFailure"


# -- tampering over real HTTP -------------------------------------------------------------------


def _signed(emu: EmulatorServer, body: dict, *, secret_key: str | None = None) -> tuple[dict[str, str], bytes]:
    """Headers and body exactly as the hook's SDK client would send them."""
    hook = TencentOcrHook()
    client = hook.get_conn()
    if secret_key is not None:
        client.credential = Credential(hook.config.secret_id, secret_key)
    host = emu.endpoint.removeprefix("http://")
    request = RequestInternal(host, "POST", "/", header={})
    client._build_req_inter("RecognizeSingaporeIDCardOCR", body, request)
    return dict(request.header), request.data.encode() if isinstance(request.data, str) else request.data


def _post(emu: EmulatorServer, headers: dict[str, str], body: bytes) -> dict:
    answer = requests.post(emu.endpoint + "/", data=body, headers=headers, timeout=10)
    assert answer.status_code == 200
    return answer.json()["Response"]


def _code(response: dict) -> str | None:
    assert response.get("RequestId"), "every answer carries a RequestId"
    return response.get("Error", {}).get("Code")


@pytest.fixture
def emu(tencent_ocr_conn_id: str, tencent_ocr_emulator: EmulatorServer) -> EmulatorServer:
    return tencent_ocr_emulator


def test_untampered_request_is_accepted(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {})
    assert _code(_post(emu, headers, body)) == "MissingParameter"  # authenticated, then refused for parameters


def test_changed_body_is_rejected(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {"ImageUrl": "http://127.0.0.1:1/a.png"})
    assert _code(_post(emu, headers, body.replace(b"a.png", b"b.png"))) == "AuthFailure.SignatureFailure"


def test_changed_signed_header_is_rejected(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {})
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert _code(_post(emu, headers, body)) == "AuthFailure.SignatureFailure"


def test_wrong_key_is_rejected(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {}, secret_key="not-the-key")
    assert _code(_post(emu, headers, body)) == "AuthFailure.SignatureFailure"


def test_unknown_secret_id_is_rejected(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {})
    headers["Authorization"] = headers["Authorization"].replace(emu.secret_id, "AKIDunknown")
    assert _code(_post(emu, headers, body)) == "AuthFailure.SecretIdNotFound"


def test_stale_timestamp_is_rejected(emu: EmulatorServer) -> None:
    import tencentcloud.common.abstract_client as sdk

    with mock.patch.object(sdk.time, "time", return_value=sdk.time.time() - 400):
        headers, body = _signed(emu, {})
    assert _code(_post(emu, headers, body)) == "AuthFailure.SignatureExpire"


def test_malformed_authorization_is_rejected(emu: EmulatorServer) -> None:
    headers, body = _signed(emu, {})
    headers["Authorization"] = "Bearer nothing"
    assert _code(_post(emu, headers, body)) == "AuthFailure.InvalidAuthorization"


def test_wrong_or_missing_token_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmulatorServer(token="sts-token-right") as server:
        conn = json.loads(server.connection_json())
        for token, expected in (
            ("sts-token-wrong", "AuthFailure.TokenFailure"),
            (None, "AuthFailure.TokenFailure"),
        ):
            conn["extra"]["token"] = token
            monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
            headers, body = _signed(server, {})
            assert _code(_post(server, headers, body)) == expected
        conn["extra"]["token"] = "sts-token-right"
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
        headers, body = _signed(server, {})
        assert headers["X-TC-Token"] == "sts-token-right"
        assert _code(_post(server, headers, body)) == "MissingParameter"


def test_newer_signed_headers_list_with_action_is_accepted(emu: EmulatorServer) -> None:
    """Sign by hand, independently of the SDK and the emulator, with content-type;host;x-tc-action."""
    import time

    body = b"{}"
    ts = int(time.time())
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    host = emu.endpoint.removeprefix("http://")
    canonical = (
        f"POST\n/\n\ncontent-type:application/json\nhost:{host}\nx-tc-action:recognizesingaporeidcardocr\n\n"
        f"content-type;host;x-tc-action\n{hashlib.sha256(body).hexdigest()}"
    )
    to_sign = f"TC3-HMAC-SHA256\n{ts}\n{date}/ocr/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("TC3" + emu.secret_key).encode()
    for part in (date, "ocr", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "Host": host,
        "X-TC-Action": "RecognizeSingaporeIDCardOCR",
        "X-TC-Version": "2018-11-19",
        "X-TC-Region": "ap-singapore",
        "X-TC-Timestamp": str(ts),
        "Authorization": f"TC3-HMAC-SHA256 Credential={emu.secret_id}/{date}/ocr/tc3_request, "
        f"SignedHeaders=content-type;host;x-tc-action, Signature={sig}",
    }
    assert _code(_post(emu, headers, body)) == "MissingParameter"
    headers["X-TC-Action"] = "RecognizeSingaporeIDCardOCRX"  # the action is signed now
    assert _code(_post(emu, headers, body)) == "AuthFailure.SignatureFailure"


# -- signature v1 (HmacSHA1 / HmacSHA256) -------------------------------------------------------

# Tencent's published v1 example: the final GET URL of DescribeInstances, HmacSHA1 (the default).
V1_VECTOR_QUERY = (
    "Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0&Region=ap-guangzhou"
    f"&SecretId={VECTOR_ID}&Signature=EliP9YW3pW28FpsEdkXt%2F%2BWcGeI%3D&Timestamp=1465185768&Version=2017-03-12"
)


def test_published_v1_vector_verified_by_the_emulator() -> None:
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(V1_VECTOR_QUERY))
    assert signature.v1_string_to_sign("GET", "cvm.tencentcloudapi.com", "/", params) == (
        "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886"
        f"&Offset=0&Region=ap-guangzhou&SecretId={VECTOR_ID}&Timestamp=1465185768&Version=2017-03-12"
    )
    creds = {VECTOR_ID: signature.Credentials(VECTOR_KEY)}
    kwargs = dict(method="GET", host="cvm.tencentcloudapi.com", path="/", credentials=creds)
    assert signature.verify_v1(params=params, now=1465185768 + 10, **kwargs) == VECTOR_ID
    with pytest.raises(signature.SignatureError) as err:
        signature.verify_v1(params=params, now=1465185768 + 301, **kwargs)
    assert err.value.code == "AuthFailure.SignatureExpire"
    for changed in ({"Limit": "21"}, {"SignatureMethod": "HmacSHA256"}):
        with pytest.raises(signature.SignatureError) as err:
            signature.verify_v1(params={**params, **changed}, now=1465185768, **kwargs)
        assert err.value.code == "AuthFailure.SignatureFailure"
    with pytest.raises(signature.SignatureError) as err:
        signature.verify_v1(params=params, now=1465185768, **{**kwargs, "method": "POST"})
    assert err.value.code == "AuthFailure.SignatureFailure"  # the method is signed too


def test_v1_through_the_sdk_signing_path() -> None:
    """The SDK's own v1 signer (common package) and the emulator agree, for both hash functions."""
    from tencentcloud.common.sign import Sign

    params = {"Action": "RecognizeSingaporeIDCardOCR", "Nonce": "7", "Timestamp": "1700000000", "ImageUrl": "x"}
    for method in ("HmacSHA1", "HmacSHA256"):
        to_sign = signature.v1_string_to_sign("POST", "ocr.tencentcloudapi.com", "/", params)
        assert signature.v1_signature(VECTOR_KEY, to_sign, method) == Sign.sign(VECTOR_KEY, to_sign, method)
