"""A connection test must not carry a stored SecretKey to an endpoint, region or scheme it was not stored for."""

from __future__ import annotations

import hmac
import json
import logging
import os
from typing import Any, NamedTuple

from airflow_provider_tencent_ocr.hooks.config import (
    DEFAULT_REGION,
    TencentCloudConfig,
    connection_destination,
    normalise,
)

log = logging.getLogger(__name__)


def stored_key_conflict(
    config: TencentCloudConfig, *, own_conn_id: str, conn_type: str, default_endpoint: str
) -> str | None:
    """Why a connection test must not sign with this key for this destination, or None.

    Airflow's connection test merges the stored connection into the form (a masked ``***``
    password becomes the stored SecretKey). Airflow itself refuses a different *host or port*
    unless the form carries its own password; that covers connections that keep their destination
    in host/port. This guard covers the rest: a destination kept in the ``endpoint`` extra, the
    region, the scheme, and Airflow versions without that check. When this SecretKey (or session
    token) is the one stored in other connections, and none of them is a connection of this type
    stored for this scheme, host and region, refuse. A key stored nowhere was typed into the form and
    may go anywhere. Stored connections are read from the metadata database and ``AIRFLOW_CONN_*``
    variables (JSON and URI forms); a connection held only in another secrets backend cannot be
    listed: keep its destination in host/port so Airflow's own check applies. A key taken from
    ``TENCENTCLOUD_SECRET_KEY`` (the connection has none) is bound to Tencent Cloud's https endpoints.
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
    ours = [config.secret_key] + ([config.token] if config.token else [])
    homes: list[tuple[str, tuple[str, str, str] | None]] = []
    for stored in _stored_connections(own_conn_id):
        if not any(hmac.compare_digest(a.encode(), b.encode()) for a in ours for b in stored.secrets()):
            continue
        homes.append((stored.conn_id, stored.destination(conn_type, default_endpoint)))
    if not homes or any(destination == config.destination for _, destination in homes):
        return None
    names = ", ".join(sorted({conn_id for conn_id, _ in homes}))
    return (
        f"Refused: the SecretKey of connection(s) {names} is stored for another endpoint, region or scheme "
        f"than {config.scheme}://{config.host} ({config.region}). Type the SecretKey into the form to test "
        "this destination, or save the connection first."
    )


class _Stored(NamedTuple):
    conn_id: str
    conn_type: str | None
    host: str | None
    port: int | None
    schema: str | None
    password: str | None
    extra: dict[str, Any]

    def secrets(self) -> list[str]:
        """The password and every string extra: wherever a connection of any type may keep a key."""
        values = [self.password, *self.extra.values()]
        return [v.strip() for v in values if isinstance(v, str) and v.strip()]

    def destination(self, conn_type: str, default_endpoint: str) -> tuple[str, str, str] | None:
        """Where this connection's key may be sent (as the hook reads it); None when not of this type or unusable."""
        if self.conn_type != conn_type:
            return None
        try:
            scheme, host = connection_destination(
                host=self.host,
                port=self.port,
                schema=self.schema,
                endpoint=str(self.extra.get("endpoint") or ""),
                default_endpoint=default_endpoint,
            )
        except ValueError:
            return None
        return (*normalise((scheme, host)), str(self.extra.get("region") or DEFAULT_REGION))


def _stored_connections(own_conn_id: str) -> list[_Stored]:
    """Every listable stored connection, of any type (a form may re-type a stored connection), but our own.

    Our own id is skipped when it comes from an environment variable: that is where Airflow's
    connection test puts the merged, possibly hostile, connection it tests.
    """
    found = {stored.conn_id: stored for stored in _db_connections()}
    prefix = "AIRFLOW_CONN_"
    for name, value in os.environ.items():
        if name.startswith(prefix) and name != prefix + own_conn_id.upper():
            stored = _parse_env_connection(name.removeprefix(prefix).lower(), value)
            if stored is not None:
                found[stored.conn_id] = stored
    return list(found.values())


def _parse_env_connection(conn_id: str, value: str) -> _Stored | None:
    from airflow.sdk import Connection

    try:
        if value.lstrip().startswith("{"):
            conn = Connection.from_json(value, conn_id=conn_id)
        else:
            conn = Connection.from_uri(value, conn_id=conn_id)
        return _Stored(conn_id, conn.conn_type, conn.host, conn.port, conn.schema, conn.password, conn.extra_dejson)
    except ValueError as err:  # a broken variable: Airflow reports it when it is used
        log.debug("AIRFLOW_CONN_%s is not readable as a connection: %s", conn_id.upper(), type(err).__name__)
        return None


def _db_connections() -> list[_Stored]:
    """Connections in the metadata database, where this process may read it (the api-server)."""
    if os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "client":  # a task or worker: no database access
        return []
    try:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(Connection).all()
            return [
                _Stored(row.conn_id, row.conn_type, row.host, row.port, row.schema, row.password, _extra(row))
                for row in rows
            ]
    except Exception as err:  # no database here (a bare script, an unmigrated test home)
        log.debug("stored connections not listable from the database: %s", type(err).__name__)
        return []


def _extra(row: Any) -> dict[str, Any]:
    try:
        extra = json.loads(row.extra or "{}")
    except ValueError:
        return {}
    return extra if isinstance(extra, dict) else {}
