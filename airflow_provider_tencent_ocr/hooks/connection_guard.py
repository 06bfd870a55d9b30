"""A connection test must not carry a stored SecretKey to an endpoint, region or scheme it was not stored for."""

from __future__ import annotations

import hmac
import logging
import os
from typing import Any

from airflow_provider_tencent_ocr.hooks.config import DEFAULT_REGION, TencentCloudConfig, parse_endpoint

log = logging.getLogger(__name__)


def stored_key_conflict(
    config: TencentCloudConfig, *, own_conn_id: str, conn_type: str, default_endpoint: str
) -> str | None:
    """Why a connection test must not sign with this key for this destination, or None.

    Airflow's connection test merges the stored connection into the form (a masked ``***``
    password becomes the stored SecretKey) and refuses a different *host or port* unless the form
    carries its own password, but this connection type keeps its endpoint, region and scheme in
    extras. So: when this SecretKey (or session token) is the one stored in other connections of
    this type, and none of them is stored for this scheme, endpoint and region, refuse. A key
    stored nowhere was typed into the form and may go anywhere. Stored connections are read from
    the metadata database and ``AIRFLOW_CONN_*`` variables; a connection held only in a secrets
    backend cannot be listed and is not checked. A key taken from ``TENCENTCLOUD_SECRET_KEY`` (the
    connection has none) is bound to Tencent Cloud's own https endpoints.
    """
    if config.from_environment:
        official = config.scheme == "https" and (config.host.lower() + ".").endswith(".tencentcloudapi.com.")
        if official:
            return None
        return (
            "Refused: the SecretKey comes from the TENCENTCLOUD_SECRET_KEY variable of this process, and a "
            f"connection test signs with it only for https://*.tencentcloudapi.com, not {config.scheme}://"
            f"{config.host}. Type the SecretId and SecretKey into the form to test this endpoint."
        )
    homes: list[tuple[str, tuple[str, str, str]]] = []
    for conn_id, password, extra in _stored_connections(own_conn_id, conn_type):
        stored_secrets = [s.strip() for s in (password, extra.get("token")) if isinstance(s, str) and s.strip()]
        ours = [config.secret_key] + ([config.token] if config.token else [])
        if not any(hmac.compare_digest(a.encode(), b.encode()) for a in ours for b in stored_secrets):
            continue
        try:
            scheme, host = parse_endpoint(str(extra.get("endpoint") or default_endpoint))
        except ValueError:
            continue
        homes.append((conn_id, (scheme, host.lower(), str(extra.get("region") or DEFAULT_REGION))))
    if not homes or any(destination == config.destination for _, destination in homes):
        return None
    names = ", ".join(sorted({conn_id for conn_id, _ in homes}))
    return (
        f"Refused: the SecretKey of connection(s) {names} is stored for another endpoint, region or scheme "
        f"than {config.scheme}://{config.host} ({config.region}). Type the SecretKey into the form to test "
        "this destination, or save the connection first."
    )


def _stored_connections(own_conn_id: str, conn_type: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """``(conn_id, password, extra)`` of every listable stored connection of this type but our own.

    Our own id is skipped when it comes from an environment variable: that is where Airflow's
    connection test puts the merged, possibly hostile, connection it tests.
    """
    found: dict[str, tuple[str, str | None, dict[str, Any]]] = {}
    for conn_id, password, extra in _db_connections(conn_type):
        found[conn_id] = (conn_id, password, extra)
    prefix = "AIRFLOW_CONN_"
    for name, value in os.environ.items():
        if not name.startswith(prefix) or name == prefix + own_conn_id.upper():
            continue
        parsed = _parse_env_connection(value, conn_type)
        if parsed is not None:
            conn_id = name.removeprefix(prefix).lower()
            found[conn_id] = (conn_id, *parsed)
    return list(found.values())


def _parse_env_connection(value: str, conn_type: str) -> tuple[str | None, dict[str, Any]] | None:
    from airflow.sdk import Connection

    try:
        conn = Connection.from_json(value) if value.lstrip().startswith("{") else Connection.from_uri(value)
    except Exception:  # not ours to judge: Airflow reports a broken variable when it is used
        return None
    if conn.conn_type != conn_type:
        return None
    return conn.password, conn.extra_dejson


def _db_connections(conn_type: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    """Connections of this type in the metadata database, where this process may read it (the api-server)."""
    if os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "client":  # a task or worker: no database access
        return []
    try:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            rows = session.scalars(select(Connection).where(Connection.conn_type == conn_type)).all()
            return [(row.conn_id, row.password, row.extra_dejson) for row in rows]
    except Exception as err:  # no database here (a bare script, an unmigrated test home)
        log.debug("stored connections not listable from the database: %s", type(err).__name__)
        return []
