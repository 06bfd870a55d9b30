"""TencentCloudHook is generic (service, version, action are the caller's), and the SDK internals it uses are pinned."""

from __future__ import annotations

import base64
import json
import threading
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import requests
from helpers import make_png
from hostile_http import closed_port
from packaging.requirements import Requirement

from airflow_provider_tencent_ocr.exceptions import ConnectionConfigError, TencentCloudAPIError, TencentOcrError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.hooks.tencentcloud import TencentCloudHook
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(recogniser=FixtureRecogniser(unknown="reject"), rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        yield server


def test_generic_hook_calls_the_service_the_caller_names(emulator: EmulatorServer) -> None:
    image = make_png(seed=21)
    emulator.recogniser.add(image, {"ID": "S1234567D"})
    hook = TencentCloudHook(service="ocr", api_version="2018-11-19")
    response = hook.call("RecognizeSingaporeIDCardOCR", {"ImageBase64": base64.b64encode(image).decode()})
    assert response["ID"] == "S1234567D"
    assert emulator.stats.billed == 1


def test_the_service_and_version_are_signed_as_given(emulator: EmulatorServer) -> None:
    """A wrong version reaches the service as such (the emulator serves only 2018-11-19)."""
    with pytest.raises(TencentCloudAPIError) as err:
        TencentCloudHook(service="ocr", api_version="2099-01-01").call("RecognizeSingaporeIDCardOCR", {})
    assert err.value.code in ("NoSuchVersion", "InvalidParameter.Version", "InvalidAction")


def test_without_a_service_the_hook_says_what_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps({"conn_type": "tencentcloud", "login": "a"}))
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDx")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "k")
    with pytest.raises(ConnectionConfigError, match="service="):
        TencentCloudHook().get_conn()
    ok, message = TencentCloudHook().test_connection()
    assert not ok and "TencentOcrHook" in message


def test_default_endpoint_follows_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps({"conn_type": "tencentcloud", "login": "a"}))
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDx")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "k")
    assert TencentCloudHook(service="cvm", api_version="2017-03-12").config.host == "cvm.tencentcloudapi.com"
    assert (TencentOcrHook().config.scheme, TencentOcrHook().config.host) == ("https", "ocr.tencentcloudapi.com")
    assert TencentOcrHook(timeout=60).config.connect_timeout == 10
    assert TencentOcrHook(timeout=3).config.connect_timeout == 3


def test_get_conn_is_one_client_per_thread(emulator: EmulatorServer) -> None:
    hook = TencentOcrHook()
    assert hook.get_conn() is hook.get_conn()
    with pytest.warns(DeprecationWarning, match="get_conn"):
        assert hook.get_client() is hook.get_conn()  # the 0.1 name, deprecated (CHANGELOG.md)
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(hook.get_conn()))
    thread.start()
    thread.join()
    assert other[0] is not hook.get_conn()


def test_importing_the_hook_changes_no_logger() -> None:
    """The SDK log filter is added when a client is built, never at import time."""
    import subprocess
    import sys

    code = (
        "import logging, airflow_provider_tencent_ocr.hooks.ocr;"
        "print(len(logging.getLogger('tencentcloud_sdk_common').filters))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip().splitlines()[-1] == "0"


def test_every_provider_error_shares_one_base() -> None:
    from airflow_provider_tencent_ocr.exceptions import InvalidImageError

    for error in (ConnectionConfigError("x"), TencentCloudAPIError("c", "m"), InvalidImageError("c", "m")):
        assert isinstance(error, TencentOcrError)
    assert isinstance(ConnectionConfigError("x"), ValueError)  # still caught where ValueError was


# -- the SDK internals the hook relies on, pinned --------------------------------------------------
# The SDK internals the hook relies on, pinned: this fails when an SDK release changes them.
#
# ``TencentCloudHook`` uses ``CommonClient._call`` (sign and send, answer streamed), the client's
# ``requests`` session (``client.request.conn._session``), and the implicit chaining by which the
# SDK's ``ClientNetworkError`` carries the ``requests`` exception that caused it. The SDK range in
# ``pyproject.toml`` is the range these tests were run against; widen it only after running them.

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pin_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit=1000) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
        yield server


def test_installed_sdk_is_inside_the_pinned_range() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (sdk,) = [Requirement(d) for d in deps if d.startswith("tencentcloud-sdk-python-common")]
    assert any(spec.operator == "<" for spec in sdk.specifier), "the SDK range needs an upper bound"
    assert sdk.specifier.contains(version("tencentcloud-sdk-python-common"))


def test_call_signs_sends_and_streams_the_answer(pin_emulator: EmulatorServer) -> None:
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


def test_sdk_debug_log_is_filtered_once_a_client_exists(pin_emulator: EmulatorServer) -> None:
    import logging

    TencentOcrHook().get_conn()
    TencentOcrHook().get_conn()
    sdk_logger = logging.getLogger("tencentcloud_sdk_common")
    filters = [f for f in sdk_logger.filters if getattr(f, "__name__", "") == "_warning_or_above"]
    assert len(filters) == 1
    record = logging.LogRecord("tencentcloud_sdk_common", logging.DEBUG, __file__, 1, "SendRequest", None, None)
    assert not sdk_logger.filter(record)
