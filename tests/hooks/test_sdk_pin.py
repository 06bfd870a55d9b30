"""The SDK internals the hook relies on, pinned: this fails when an SDK release changes them.

``TencentCloudHook`` uses ``CommonClient._call`` (sign and send, answer streamed), the client's
``requests`` session (``client.request.conn._session``), and the implicit chaining by which the
SDK's ``ClientNetworkError`` carries the ``requests`` exception that caused it. The SDK range in
``pyproject.toml`` is the range these tests were run against; widen it only after running them.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import requests
from hostile_http import closed_port
from packaging.requirements import Requirement

from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from tencent_ocr_emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        yield server


def test_installed_sdk_is_inside_the_pinned_range() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (sdk,) = [Requirement(d) for d in deps if d.startswith("tencentcloud-sdk-python-common")]
    assert any(spec.operator == "<" for spec in sdk.specifier), "the SDK range needs an upper bound"
    assert sdk.specifier.contains(version("tencentcloud-sdk-python-common"))


def test_call_signs_sends_and_streams_the_answer(emulator: EmulatorServer) -> None:
    client = TencentOcrHook().get_conn()
    assert isinstance(client.request.conn._session, requests.Session)
    assert client.request.conn._session.trust_env is False  # set by the hook
    answer = client._call("RecognizeSingaporeIDCardOCR", {})
    try:
        assert isinstance(answer, requests.Response) and answer.status_code == 200
        assert not answer._content_consumed, "the SDK must stream (stream=True) so the hook can cap the body"
        body = answer.raw.read1(65536, decode_content=True)  # urllib3 >= 2: what has arrived
        assert json.loads(body)["Response"]["Error"]["Code"] == "MissingParameter"  # authenticated first
    finally:
        answer.close()


def test_network_error_chains_the_requests_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

    conn = {"conn_type": "tencentcloud", "login": "AKIDpin", "password": "k"}
    conn["extra"] = {"endpoint": f"http://127.0.0.1:{closed_port()}"}  # type: ignore[assignment]
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
    with pytest.raises(TencentCloudSDKException) as err:
        TencentOcrHook(timeout=2).get_conn()._call("RecognizeSingaporeIDCardOCR", {})
    assert err.value.get_code() == "ClientNetworkError"
    assert isinstance(err.value.__context__, requests.ConnectionError)


def test_sdk_debug_log_is_filtered_once_a_client_exists(emulator: EmulatorServer) -> None:
    import logging

    TencentOcrHook().get_conn()
    TencentOcrHook().get_conn()
    sdk_logger = logging.getLogger("tencentcloud_sdk_common")
    filters = [f for f in sdk_logger.filters if getattr(f, "__name__", "") == "_warning_or_above"]
    assert len(filters) == 1
    record = logging.LogRecord("tencentcloud_sdk_common", logging.DEBUG, __file__, 1, "SendRequest", None, None)
    assert not sdk_logger.filter(record)
