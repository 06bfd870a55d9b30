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
from contextlib import contextmanager
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


def _ui_test(password: str | None = "***", fields: dict[str, Any] | None = None, **extra: str) -> tuple[bool, str]:
    """What the UI's Test button sends: the form, with the unchanged SecretKey masked as ``***``.

    ``fields`` are standard fields the form sends (host, port, schema). Airflow's own refusal of a
    changed host or port (HTTP 400) is returned as ``(False, "HTTP 400: ...")``.
    """
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionBody
    from airflow.api_fastapi.core_api.routes.public.connections import test_connection
    from fastapi import HTTPException

    body: dict[str, Any] = {"connection_id": STORED, "conn_type": "tencentcloud", "login": SECRET_ID, **(fields or {})}
    if password is not None:
        body["password"] = password
    body["extra"] = json.dumps(extra)
    # Airflow 3.2's route takes the body alone (and merges even a changed host); 3.3 adds the caller.
    accepted = inspect.signature(test_connection).parameters
    caller = {name: value for name, value in {"user": None, "auth_manager": _AllowAll()}.items() if name in accepted}
    try:
        answer = test_connection(ConnectionBody(**body), **caller)
    except HTTPException as err:
        return False, f"HTTP {err.status_code}: {err.detail}"
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
        # No host: the merged form is then a valid tencentcloud connection, and only the guard stands.
        session.add(Connection(conn_id=STORED, conn_type="http", login="someone", password=SECRET_KEY))
    try:
        ok, message = _ui_test(endpoint=recorder.endpoint)
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == STORED).delete()
    assert not ok and message.startswith("Refused")
    assert recorder.requests == 0


def _airflow_checks_host() -> bool:
    """Airflow 3.3's test route refuses a changed host or port without credentials (3.2's merges it)."""
    from airflow.api_fastapi.core_api.routes.public import connections

    return hasattr(connections, "_same_endpoint")


def _where(server: EmulatorServer | HostileServer) -> tuple[str, int]:
    host, port = server.endpoint.removeprefix("http://").split(":")
    return host, int(port)


def _stored_forms(emulator: EmulatorServer) -> dict[str, dict[str, Any]]:
    """The stored connection, once with its destination in host/port/schema and once in the endpoint extra."""
    host, port = _where(emulator)
    base = {"conn_type": "tencentcloud", "login": SECRET_ID, "password": SECRET_KEY}
    return {
        "host_port": {**base, "host": host, "port": port, "schema": "http", "extra": {"region": "ap-singapore"}},
        "endpoint_extra": {**base, "extra": {"endpoint": emulator.endpoint, "region": "ap-singapore"}},
    }


def _as_uri(conn: dict[str, Any]) -> str:
    """The URI form of a connection (``tencentcloud://id:key@host:port/schema?extra``), as users write it."""
    from urllib.parse import quote, urlencode

    where = f"{conn.get('host', '')}" + (f":{conn['port']}" if conn.get("port") else "")
    return (
        f"tencentcloud://{quote(conn['login'], safe='')}:{quote(conn['password'], safe='')}@{where}"
        f"/{conn.get('schema', '')}?{urlencode(conn['extra'])}"
    )


@contextmanager
def _stored(where: str, conn: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The connection stored as STORED in one of the places Airflow keeps connections."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__CORE__TEST_CONNECTION", "Enabled")
    if where == "env_uri":
        monkeypatch.setenv(f"AIRFLOW_CONN_{STORED.upper()}", _as_uri(conn))
    elif where == "env_json":
        monkeypatch.setenv(f"AIRFLOW_CONN_{STORED.upper()}", json.dumps(conn))
    elif where == "secrets_backend":
        path = tmp_path / "connections.json"
        path.write_text(json.dumps({STORED: conn}))
        monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.secrets.local_filesystem.LocalFilesystemBackend")
        monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARGS", json.dumps({"connections_file_path": str(path)}))
    else:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == STORED).delete()
            session.add(Connection(conn_id=STORED, **{**conn, "extra": json.dumps(conn["extra"])}))
    try:
        yield
    finally:
        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == STORED).delete()


PLACES = ["env_uri", "env_json", "metadata_db", "secrets_backend"]


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("form", ["host_port", "endpoint_extra"])
def test_stored_key_tests_its_own_endpoint_wherever_it_is_stored(
    where: str, form: str, metadata_db: None, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conn = _stored_forms(emulator)[form]
    fields = {k: conn[k] for k in ("host", "port", "schema") if k in conn}
    with _stored(where, conn, monkeypatch, tmp_path):
        ok, message = _ui_test(fields=fields, **conn["extra"])
    assert ok, message
    assert (emulator.stats.requests, emulator.stats.billed) == (1, 0)


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.parametrize("form", ["host_port", "endpoint_extra"])
@pytest.mark.parametrize("moved", ["host_port", "endpoint_extra"])
def test_stored_key_never_signs_for_another_endpoint_wherever_it_is_stored(
    where: str,
    form: str,
    moved: str,
    metadata_db: None,
    emulator: EmulatorServer,
    recorder: HostileServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Issue 17: a key stored in URI form in AIRFLOW_CONN_* was never listed, and was signed for anywhere.

    The form keeps the masked SecretKey and points elsewhere, through host/port or the endpoint
    extra, whichever way the stored connection keeps its destination. Nothing reaches ``recorder``.
    """
    conn = _stored_forms(emulator)[form]
    unlisted = where == "secrets_backend"
    if unlisted and (form == moved == "endpoint_extra" or (moved == "host_port" and not _airflow_checks_host())):
        pytest.skip(
            "documented limit: a secrets backend cannot be listed; only Airflow's own host/port check "
            "(3.3 and later) protects its connections, when they keep the destination in host/port"
        )
    host, port = _where(recorder)
    if moved == "host_port":
        fields: dict[str, Any] = {"host": host, "port": port, "schema": "http"}
        extra = {k: v for k, v in conn["extra"].items() if k != "endpoint"}
    else:
        fields = {k: conn[k] for k in ("host", "port", "schema") if k in conn}
        extra = {**conn["extra"], "endpoint": recorder.endpoint}
    with _stored(where, conn, monkeypatch, tmp_path):
        ok, message = _ui_test(fields=fields, **extra)
    assert not ok, message
    assert recorder.requests == 0
    assert emulator.stats.requests == 0
