"""The Airflow UI/API connection test cannot carry a stored SecretKey to another endpoint, region or scheme.

Drives Airflow's own ``POST /connections/test`` route function (the one the UI's Test button calls:
it merges the stored connection into the form, so a masked ``***`` password becomes the stored
SecretKey) against a migrated metadata database, the emulator, and a loopback server that records
whether anything was sent to it.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_http import HostileServer, hostile_server, send_json

from tencent_ocr_emulator.server import EmulatorServer

# Slow: airflow db migrate in a subprocess, then Airflow's API route function.
pytestmark = pytest.mark.slow

SECRET_ID = "AKIDstoredconn"
SECRET_KEY = "stored-secret-key-never-to-leave"
STORED = "ocr_stored"


@pytest.fixture(scope="module")
def metadata_db() -> None:
    """Migrate the test session's (throwaway) metadata database once for this module."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, timeout=600, env=os.environ)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(secret_id=SECRET_ID, secret_key=SECRET_KEY, rate_limit=1000) as server:
        yield server


@pytest.fixture
def recorder() -> Iterator[HostileServer]:
    """Somewhere else: answers like the service would, and counts what reached it."""
    answer = {"Response": {"RequestId": "elsewhere", "Error": {"Code": "MissingParameter", "Message": "x"}}}
    with hostile_server(lambda handler: send_json(handler, answer)) as server:
        yield server


@pytest.fixture
def stored_in_db(metadata_db: None, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == STORED).delete()
        extra = json.dumps({"endpoint": emulator.endpoint, "region": "ap-singapore"})
        session.add(
            Connection(conn_id=STORED, conn_type="tencentcloud", login=SECRET_ID, password=SECRET_KEY, extra=extra)
        )
    yield
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == STORED).delete()


class _AllowAll:
    def is_authorized_connection(self, **kwargs: Any) -> bool:
        return True


def _ui_test(password: str | None = "***", **extra: str) -> tuple[bool, str]:
    """What the UI's Test button sends: the form, with the unchanged SecretKey masked as ``***``."""
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionBody
    from airflow.api_fastapi.core_api.routes.public.connections import test_connection

    body: dict[str, Any] = {"connection_id": STORED, "conn_type": "tencentcloud", "login": SECRET_ID}
    if password is not None:
        body["password"] = password
    body["extra"] = json.dumps(extra)
    # Airflow 3.2's route takes the body alone (and merges even a changed host); 3.3 adds the caller.
    accepted = inspect.signature(test_connection).parameters
    caller = {name: value for name, value in {"user": None, "auth_manager": _AllowAll()}.items() if name in accepted}
    answer = test_connection(ConnectionBody(**body), **caller)
    assert SECRET_KEY not in answer.message
    return answer.status, answer.message


def test_unchanged_form_tests_the_stored_connection(stored_in_db: None, emulator: EmulatorServer) -> None:
    ok, message = _ui_test(endpoint=emulator.endpoint, region="ap-singapore")
    assert ok, message
    assert (emulator.stats.requests, emulator.stats.billed) == (1, 0)


def test_masked_key_is_not_sent_to_another_endpoint(stored_in_db: None, recorder: HostileServer) -> None:
    ok, message = _ui_test(endpoint=recorder.endpoint, region="ap-singapore")
    assert not ok and message.startswith("Refused") and STORED in message
    assert recorder.requests == 0


@pytest.mark.parametrize("change", ["region", "scheme"])
def test_masked_key_is_not_signed_for_another_region_or_scheme(
    stored_in_db: None, emulator: EmulatorServer, change: str
) -> None:
    endpoint = emulator.endpoint.replace("http://", "https://") if change == "scheme" else emulator.endpoint
    ok, message = _ui_test(endpoint=endpoint, region="ap-guangzhou" if change == "region" else "ap-singapore")
    assert not ok and message.startswith("Refused")
    assert emulator.stats.requests == 0


def test_a_key_typed_into_the_form_may_go_anywhere(stored_in_db: None, recorder: HostileServer) -> None:
    ok, message = _ui_test(password="a-key-the-user-typed", endpoint=recorder.endpoint)
    assert ok, message
    assert recorder.requests == 1


def test_key_stored_in_an_environment_variable_is_bound_too(
    metadata_db: None, emulator: EmulatorServer, recorder: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    conn = {
        "conn_type": "tencentcloud",
        "login": SECRET_ID,
        "password": SECRET_KEY,
        "extra": {"endpoint": emulator.endpoint},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{STORED.upper()}", json.dumps(conn))
    ok, message = _ui_test(endpoint=recorder.endpoint)
    assert not ok and message.startswith("Refused")
    assert recorder.requests == 0
    ok, message = _ui_test(endpoint=emulator.endpoint)
    assert ok, message


def test_environment_credentials_only_go_to_tencent_cloud(
    metadata_db: None, recorder: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection without a key falls back to TENCENTCLOUD_SECRET_KEY: never for a foreign endpoint."""
    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", SECRET_ID)
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
    ok, message = _ui_test(password=None, endpoint=recorder.endpoint)
    assert not ok and "TENCENTCLOUD_SECRET_KEY" in message
    assert recorder.requests == 0


def test_a_key_stored_under_another_connection_type_is_not_signed_either(
    metadata_db: None, recorder: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The form may re-type a stored connection (here an ``http`` one) as ``tencentcloud``: its key stays home."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id == STORED).delete()
        session.add(Connection(conn_id=STORED, conn_type="http", host="api.example", password=SECRET_KEY))
    try:
        ok, message = _ui_test(endpoint=recorder.endpoint)
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == STORED).delete()
    assert not ok and message.startswith("Refused")
    assert recorder.requests == 0
