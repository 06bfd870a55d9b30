"""Connections from AIRFLOW_CONN_ variables (JSON and URI), the environment fallback, and no secret in logs."""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.exceptions import ConnectionConfigError, TencentCloudAPIError
from airflow_provider_tencent_ocr.hooks.config import connection_destination
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.hooks.tencentcloud import parse_endpoint
from tencent_ocr_emulator.server import EmulatorServer, Faults

SECRET_KEY = "sEcReT-KeY-that-must-never-be-logged-1234"
TOKEN = "sts-TOKEN-that-must-never-be-logged-5678"


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(secret_id="AKIDtestconnection", secret_key=SECRET_KEY, token=TOKEN, rate_limit=1000) as s:
        yield s


def _recognise(conn_id: str = "tencentcloud_default") -> str:
    image = base64.b64encode(make_png(seed=5)).decode()
    return TencentOcrHook(conn_id).recognize_singapore_id_card(image_base64=image).id_number


def test_connection_from_json_env(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OCR_JSON", emulator.connection_json())
    hook = TencentOcrHook("ocr_json")
    assert (hook.config.region, hook.config.scheme, hook.config.language) == ("ap-singapore", "http", "en-US")
    assert hook.config.host == emulator.endpoint.removeprefix("http://")
    assert _recognise("ocr_json")


def test_connection_from_uri_env(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    query = urllib.parse.urlencode({"endpoint": emulator.endpoint, "token": TOKEN, "timeout": "7", "language": "zh-CN"})
    uri = f"tencentcloud://AKIDtestconnection:{urllib.parse.quote(SECRET_KEY, safe='')}@/?{query}"
    monkeypatch.setenv("AIRFLOW_CONN_OCR_URI", uri)
    hook = TencentOcrHook("ocr_uri")
    assert (hook.config.timeout, hook.config.language, hook.config.token) == (7.0, "zh-CN", TOKEN)
    assert _recognise("ocr_uri")


def test_environment_credential_fallback(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "tencentcloud", "extra": {"endpoint": emulator.endpoint}}
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDtestconnection")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", TOKEN)
    assert _recognise()


def test_missing_credentials_error_names_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY", json.dumps({"conn_type": "tencentcloud"}))
    with pytest.raises(ValueError, match="TENCENTCLOUD_SECRET_ID"):
        TencentOcrHook("empty").config  # noqa: B018
    with pytest.raises(ValueError, match="AIRFLOW_CONN_NOT_THERE"):
        TencentOcrHook("not_there").config  # noqa: B018


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("ocr.tencentcloudapi.com", ("https", "ocr.tencentcloudapi.com")),
        ("ocr.intl.tencentcloudapi.com", ("https", "ocr.intl.tencentcloudapi.com")),
        ("http://127.0.0.1:9000", ("http", "127.0.0.1:9000")),
        ("https://proxy.example:8443/", ("https", "proxy.example:8443")),
    ],
)
def test_endpoint_override(endpoint: str, expected: tuple[str, str]) -> None:
    assert parse_endpoint(endpoint) == expected


def test_provider_registers_the_connection_form() -> None:
    from airflow_provider_tencent_ocr.get_provider_info import get_provider_info

    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "tencentcloud"
    behaviour = conn_type["ui-field-behaviour"]
    assert behaviour["relabeling"]["login"] == "SecretId" and behaviour["relabeling"]["password"] == "SecretKey"
    # The destination is in the standard fields, shown: the connection list and Airflow's test check read them.
    assert not {"host", "port", "schema"} & set(behaviour["hidden-fields"])
    assert behaviour["placeholders"]["port"] == "443"
    fields = conn_type["conn-fields"]
    assert fields["region"]["schema"]["default"] == "ap-singapore"
    assert fields["token"]["schema"]["format"] == "password"
    assert set(fields) == {"region", "token", "language", "timeout", "cos_endpoint"}


def test_connection_host_port_schema(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The destination in the standard fields (URI form: tencentcloud://id:key@host:port/http)."""
    host, port = emulator.endpoint.removeprefix("http://").split(":")
    uri = (
        f"tencentcloud://AKIDtestconnection:{urllib.parse.quote(SECRET_KEY, safe='')}@{host}:{port}/http?token={TOKEN}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_OCR_HOSTPORT", uri)
    hook = TencentOcrHook("ocr_hostport")
    assert (hook.config.scheme, hook.config.host) == ("http", f"{host}:{port}")
    assert _recognise("ocr_hostport")


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("https", "ocr.tencentcloudapi.com")),
        ({"host": "ocr.intl.tencentcloudapi.com"}, ("https", "ocr.intl.tencentcloudapi.com")),
        ({"host": "OCR.TencentCloudAPI.com", "port": 443, "schema": "https"}, ("https", "ocr.tencentcloudapi.com")),
        ({"host": "127.0.0.1", "port": 9000, "schema": "http"}, ("http", "127.0.0.1:9000")),
        ({"host": "127.0.0.1", "port": 0, "schema": "http"}, ("http", "127.0.0.1")),  # the UI stores 0 for empty
        ({"host": "::1", "port": 9000, "schema": "http"}, ("http", "[::1]:9000")),
        ({"endpoint": "http://127.0.0.1:9000"}, ("http", "127.0.0.1:9000")),
        (
            {"host": "127.0.0.1", "port": 9000, "schema": "http", "endpoint": "http://127.0.0.1:9000"},
            ("http", "127.0.0.1:9000"),
        ),
    ],
)
def test_connection_destination(fields: dict[str, Any], expected: tuple[str, str]) -> None:
    args = {"host": None, "port": None, "schema": None, "endpoint": None, **fields}
    assert connection_destination(**args, default_endpoint="ocr.tencentcloudapi.com") == expected


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"host": "127.0.0.1", "endpoint": "http://127.0.0.1:9000"}, "remove the endpoint extra"),
        ({"host": "http://127.0.0.1:9000"}, "host name only"),
        ({"host": "127.0.0.1:9000"}, "host name only"),
        ({"host": "ocr.tencentcloudapi.com", "schema": "ftp"}, "'https' or 'http'"),
        ({"port": 9000}, "no host"),
        ({"host": "x.example", "port": 70000}, "between 1 and 65535"),
    ],
)
def test_connection_destination_errors_say_what_to_fix(fields: dict[str, Any], names: str) -> None:
    args = {"host": None, "port": None, "schema": None, "endpoint": None, **fields}
    with pytest.raises(ConnectionConfigError, match=names):
        connection_destination(**args, default_endpoint="ocr.tencentcloudapi.com")


def test_no_secret_in_any_log_line(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything at DEBUG, including the SDK's and urllib3's loggers, success and failure paths."""
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", emulator.connection_json())
    caplog.set_level(logging.DEBUG)
    for name in ("tencentcloud_sdk_common", "urllib3", "airflow", "airflow_provider_tencent_ocr"):
        caplog.set_level(logging.DEBUG, logger=name)
    hook = TencentOcrHook()
    logging.getLogger("test").info("config %r", hook.config)
    assert _recognise()
    emulator.faults = Faults(internal_error=1.0)
    with pytest.raises(TencentCloudAPIError) as err:
        _recognise()
    logging.getLogger("test").exception("call failed: %s", err.value)
    assert hook.test_connection()[0] is False  # InternalError proves nothing about the credentials
    emulator.faults = Faults()
    assert hook.test_connection()[0] is True
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the check must have seen log records"
    assert SECRET_KEY not in text and TOKEN not in text
    assert SECRET_KEY not in repr(hook.config) and TOKEN not in repr(hook.config)


def test_airflow_discovers_the_provider_hook_and_form() -> None:
    """What `airflow providers list` / `airflow providers hooks` and the connection form read."""
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    manager = ProvidersManager()
    assert "airflow-provider-tencent-ocr" in manager.providers
    hook = ProvidersManagerTaskRuntime().hooks["tencentcloud"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_tencent_ocr.hooks.ocr.TencentOcrHook"
    assert hook.connection_id_attribute_name == "tencentcloud_conn_id"
    widgets = manager.connection_form_widgets
    assert {"extra__tencentcloud__region", "extra__tencentcloud__token"} <= set(widgets)
    assert widgets["extra__tencentcloud__token"].is_sensitive
    assert manager.field_behaviours["tencentcloud"]["relabeling"]["password"] == "SecretKey"


def _conn(emulator: EmulatorServer, token: str) -> str:
    extra = {"endpoint": emulator.endpoint, "token": token}
    return json.dumps(
        {"conn_type": "tencentcloud", "login": "AKIDtestconnection", "password": SECRET_KEY, "extra": extra}
    )


@pytest.mark.parametrize("pasted", [TOKEN + "\n", f"  {TOKEN}\r\n", f"\t{TOKEN} "])
def test_an_sts_token_pasted_with_a_newline_is_stripped(
    pasted: str, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: a token with a trailing newline made every row a ClientNetworkError (InvalidHeader)."""
    monkeypatch.setenv("AIRFLOW_CONN_OCR_TOKEN", _conn(emulator, pasted))
    assert TencentOcrHook("ocr_token").config.token == TOKEN
    assert _recognise("ocr_token")


def test_the_session_token_variable_is_stripped_too(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "tencentcloud", "extra": {"endpoint": emulator.endpoint}}
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", json.dumps(conn))
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDtestconnection\n")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY + "\n")
    monkeypatch.setenv("TENCENTCLOUD_SESSION_TOKEN", TOKEN + "\n")
    assert _recognise()


def test_a_token_with_a_line_break_inside_is_a_configuration_error(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_OCR_TOKEN", _conn(emulator, TOKEN[:10] + "\n" + TOKEN[10:]))
    with pytest.raises(ConnectionConfigError) as raised:
        TencentOcrHook("ocr_token").config  # noqa: B018
    message = str(raised.value)
    assert "STS token" in message and "ocr_token" in message
    assert TOKEN[:10] not in message and TOKEN[10:] not in message
    assert emulator.stats.requests == 0


def test_a_header_the_client_refuses_is_a_fatal_configuration_error(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever value gets into a header unchecked (here a config built by a subclass), it stops the run."""
    from dataclasses import replace

    from airflow_provider_tencent_ocr.exceptions import ErrorKind

    monkeypatch.setenv("AIRFLOW_CONN_OCR_TOKEN", _conn(emulator, TOKEN))
    hook = TencentOcrHook("ocr_token")
    hook.config = replace(hook.config, token=TOKEN + "\n")  # type: ignore[misc]
    with pytest.raises(TencentCloudAPIError) as raised:
        hook.recognize_singapore_id_card(image_base64=base64.b64encode(make_png(seed=5)).decode())
    error = raised.value
    assert (error.code, error.kind, error.may_have_been_billed) == ("InvalidHeader", ErrorKind.FATAL, False)
    assert "ocr_token" in error.message and TOKEN not in str(error)
    assert emulator.stats.requests == 0


def test_a_bad_token_fails_the_task_without_retries(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    import collections
    import types

    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    image = tmp_path / "card.png"
    image.write_bytes(make_png(seed=5))
    monkeypatch.setenv("AIRFLOW_CONN_OCR_TOKEN", _conn(emulator, TOKEN[:10] + "\n" + TOKEN[10:]))
    op = TencentOcrSingaporeIdCardOperator(
        task_id="ocr", images=[str(image)], output=str(tmp_path / "out.parquet"), tencentcloud_conn_id="ocr_token"
    )
    with pytest.raises(AirflowFailException, match="ocr_token"):
        op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
    assert emulator.stats.requests == 0 and not (tmp_path / "out.parquet").exists()
