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
        return self.scheme, self.host.lower(), self.region


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
