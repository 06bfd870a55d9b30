"""Where and how to reach a Tencent Cloud API: the settings a ``tencentcloud`` connection resolves to."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_tencent_ocr.exceptions import ConnectionConfigError

DEFAULT_REGION = "ap-singapore"
DEFAULT_LANGUAGE = "en-US"
DEFAULT_TIMEOUT = 30
# Opening a connection takes milliseconds to a second; a longer wait means nobody is answering, and
# a connect failure is safe to resend at once (the service never saw the request).
DEFAULT_CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class TencentCloudConfig:
    """Everything needed to sign and send a request; ``secret_key`` and ``token`` are masked."""

    secret_id: str
    secret_key: str
    token: str | None
    region: str
    scheme: str
    host: str
    language: str
    timeout: float
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    # True when the SecretId/SecretKey came from TENCENTCLOUD_* variables, not from the connection.
    from_environment: bool = False

    def __repr__(self) -> str:
        return (
            f"TencentCloudConfig(secret_id={self.secret_id!r}, region={self.region!r}, "
            f"endpoint={self.scheme}://{self.host}, language={self.language!r}, timeout={self.timeout}, "
            f"connect_timeout={self.connect_timeout})"
        )

    @property
    def destination(self) -> tuple[str, str, str]:
        """Where a signed request goes and for which region: what a stored SecretKey is bound to."""
        return (*normalise((self.scheme, self.host)), self.region)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def header_value(value: str, what: str, conn_id: str, *, secret: bool) -> str:
    """A connection value that goes into a request header: stripped, and refused if a control character is left.

    A value pasted with a trailing newline (an STS token copied from a terminal) would make the HTTP
    client refuse the header on every call. Stripped like SecretId and SecretKey; one with a line
    break *inside* is a configuration error naming the field (never its value when it is secret).
    """
    cleaned = value.strip()
    if any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        shown = "" if secret else f" ({cleaned!r})"
        raise ConnectionConfigError(
            f"the {what} of connection {conn_id!r}{shown} contains a line break or another control character: "
            "paste it again as one line"
        )
    return cleaned


def connection_destination(
    *, host: str | None, port: int | None, schema: str | None, endpoint: str | None, default_endpoint: str
) -> tuple[str, str]:
    """``(scheme, host[:port])`` a connection points at: the one answer the hook and the connection guard share.

    The connection's own ``host`` / ``port`` / ``schema`` fields (``schema`` is ``https`` or ``http``)
    come first: Airflow's connection test compares host and port with the stored connection, and the
    connection list shows them. The ``endpoint`` extra (a host or ``http(s)://host:port``) is still
    read when ``host`` is empty; when both are set they must agree. A port of 0 (what Airflow's UI
    stores for an empty port field) means the scheme's default port.
    """
    from_extra = parse_endpoint(endpoint) if endpoint and endpoint.strip() else None
    if not (host and host.strip()):
        if port or (schema and schema.strip()):
            raise ConnectionConfigError(
                "the connection has a port or schema but no host: fill in Host (e.g. ocr.tencentcloudapi.com), "
                "or clear Port and Schema"
            )
        return from_extra or parse_endpoint(default_endpoint)
    scheme = (schema or "").strip().lower() or "https"
    if scheme not in _DEFAULT_PORTS:
        raise ConnectionConfigError(f"connection schema {schema!r} must be 'https' or 'http' (the protocol to use)")
    name = host.strip().lower()
    if any(c in name for c in "/@?#") or name.count(":") == 1 or not name:
        raise ConnectionConfigError(
            f"connection host {host!r} must be a host name only: put the port in Port and http/https in Schema"
        )
    if port is not None and not 0 <= port <= 65535:
        raise ConnectionConfigError(f"connection port {port} must be between 1 and 65535 (or empty)")
    netloc = f"[{name.strip('[]')}]" if ":" in name else name
    if port and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    destination = (scheme, netloc)
    if from_extra is not None and normalise(from_extra) != destination:
        raise ConnectionConfigError(
            f"the connection's host/port/schema ({scheme}://{netloc}) and its endpoint extra "
            f"({from_extra[0]}://{from_extra[1]}) point to different places: remove the endpoint extra"
        )
    return destination


def normalise(destination: tuple[str, str]) -> tuple[str, str]:
    """The same destination written one way: host in lower case, the scheme's default port left out."""
    scheme, netloc = destination
    netloc = netloc.lower()
    default = f":{_DEFAULT_PORTS.get(scheme)}"
    return scheme, netloc.removesuffix(default)


def parse_endpoint(endpoint: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` from a bare host (https) or a full URL such as ``http://127.0.0.1:9000``."""
    from urllib.parse import urlparse

    endpoint = endpoint.strip().rstrip("/")
    parsed = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
    try:
        parsed.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        parsed = parsed._replace(scheme="")
    if (
        parsed.scheme not in ("http", "https")
        or not parsed.hostname
        or "@" in parsed.netloc
        or parsed.path
        or parsed.query
        or parsed.fragment
    ):
        shown = repr(endpoint) if "@" not in endpoint else "(not shown: it holds user info)"
        raise ConnectionConfigError(
            f"endpoint {shown} must be a host name or an http(s):// URL with no path, user or query"
        )
    return parsed.scheme, parsed.netloc
