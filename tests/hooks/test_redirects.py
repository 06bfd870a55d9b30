"""The API never redirects: a redirect is refused before anything (the ID image) is resent elsewhere.

Real loopback servers: the endpoint answers a redirect, and a second server records whether the
request reached it. A redirect stops the run as a configuration error: no ok rows, no retries.
"""

from __future__ import annotations

import base64
import collections
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException
from helpers import make_png
from hostile_http import HostileServer, hostile_server, send_json

from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook

IMAGE = base64.b64encode(make_png(seed=3)).decode()
CONN_ID = "tencentcloud_redirected"
ANSWER = {"Response": {"RequestId": "elsewhere", "ID": "S1234567D", "EnName": "TAN AH KOW", "WarnCardInfos": []}}


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """Another host that answers like the API (so a followed redirect would make ok rows)."""
    with hostile_server(lambda handler: send_json(handler, ANSWER)) as server:
        yield server


def _redirecting(status: int, location: str):
    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_refused_and_nothing_reaches_its_target(
    status: int, elsewhere: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = f"{elsewhere.endpoint}/steal?X-Amz-Signature=secret-in-query"
    with hostile_server(_redirecting(status, location)) as endpoint:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", endpoint.connection())
        with pytest.raises(TencentCloudAPIError) as raised:
            TencentOcrHook(CONN_ID, timeout=5).recognize_singapore_id_card(image_base64=IMAGE)
        assert endpoint.requests == 1
    error = raised.value
    assert (error.code, error.kind, error.http_status) == ("RedirectRefused", ErrorKind.FATAL, status)
    assert elsewhere.requests == 0
    assert CONN_ID in error.message and elsewhere.endpoint in error.message
    assert "secret-in-query" not in str(error) and "steal" not in str(error)


def test_a_redirect_to_the_cloud_metadata_address_is_never_attempted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 302 to 169.254.169.254 used to make a connection attempt there; now the hook stops at the 302."""
    with hostile_server(_redirecting(302, "http://169.254.169.254/latest/meta-data/")) as endpoint:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", endpoint.connection())
        with pytest.raises(TencentCloudAPIError) as raised:
            # A 30 s connect timeout: an attempt to reach the (unrouted) address would hang here.
            TencentOcrHook(CONN_ID, timeout=30, connect_timeout=30).recognize_singapore_id_card(image_base64=IMAGE)
    assert raised.value.code == "RedirectRefused" and "169.254.169.254" in raised.value.message


def test_a_redirecting_endpoint_fails_the_task_with_no_ok_rows(
    tmp_path: Path, elsewhere: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    folder = tmp_path / "img"
    folder.mkdir()
    paths = []
    for i in range(6):
        (folder / f"{i}.png").write_bytes(make_png(seed=i))
        paths.append(str(folder / f"{i}.png"))
    out = tmp_path / "cards.parquet"
    with hostile_server(_redirecting(307, elsewhere.endpoint)) as endpoint:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", endpoint.connection())
        op = TencentOcrSingaporeIdCardOperator(
            task_id="ocr", images=paths, output=str(out), tencentcloud_conn_id=CONN_ID, max_attempts=5
        )
        with pytest.raises(AirflowFailException) as raised:  # a configuration error: Airflow does not retry
            op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        assert endpoint.requests <= 2  # stopped at the first redirect (a second may already be in flight)
    assert "RedirectRefused" in str(raised.value) and CONN_ID in str(raised.value)
    assert elsewhere.requests == 0
    assert not out.exists()  # no table of ok rows made of the other host's answers
