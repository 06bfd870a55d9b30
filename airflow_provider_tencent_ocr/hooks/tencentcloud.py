"""TencentCloudHook: credentials from an Airflow connection, and one signed API call.

Signing (TC3-HMAC-SHA256) is done by the SDK's ``CommonClient``. The SDK's own retryer, region
breaker and connection pre-warming are not used (see DESIGN.md, "Traps"): retries belong to the
caller, which knows what is safe to retry.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.sdk import BaseHook

from airflow_provider_tencent_ocr.actions.singapore_id_card import ACTION
from airflow_provider_tencent_ocr.errors import ErrorKind, TencentCloudAPIError

if TYPE_CHECKING:
    from tencentcloud.common.common_client import CommonClient

DEFAULT_REGION = "ap-singapore"
DEFAULT_ENDPOINT = "ocr.tencentcloudapi.com"
DEFAULT_LANGUAGE = "en-US"
DEFAULT_TIMEOUT = 30


def _warning_or_above(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


# The SDK logs whole requests (Authorization, X-TC-Token, image Base64) at DEBUG. A filter on its
# logger drops those records whatever level anyone configures for it later.
logging.getLogger("tencentcloud_sdk_common").addFilter(_warning_or_above)


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

    def __repr__(self) -> str:
        return (
            f"TencentCloudConfig(secret_id={self.secret_id!r}, region={self.region!r}, "
            f"endpoint={self.scheme}://{self.host}, language={self.language!r}, timeout={self.timeout})"
        )


def parse_endpoint(endpoint: str) -> tuple[str, str]:
    """``(scheme, host[:port])`` from a bare host (https) or a full URL such as ``http://127.0.0.1:9000``."""
    endpoint = endpoint.strip().rstrip("/")
    if "://" not in endpoint:
        return "https", endpoint
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"endpoint {endpoint!r} must be a host name or an http(s):// URL")
    return parsed.scheme, parsed.netloc


class TencentCloudHook(BaseHook):
    """Signed access to a Tencent Cloud API 3.0 service through a ``tencentcloud`` connection.

    The connection's login is the SecretId and its password the SecretKey; extras ``region``,
    ``endpoint``, ``token``, ``language`` and ``timeout``. Without login/password the hook uses
    ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY`` / ``TENCENTCLOUD_SESSION_TOKEN``.
    """

    conn_name_attr = "tencentcloud_conn_id"
    default_conn_name = "tencentcloud_default"
    conn_type = "tencentcloud"
    hook_name = "Tencent Cloud"

    service = "ocr"
    api_version = "2018-11-19"

    def __init__(
        self,
        tencentcloud_conn_id: str = default_conn_name,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.tencentcloud_conn_id = tencentcloud_conn_id
        self._region = region
        self._endpoint = endpoint
        self._timeout = timeout
        self._local = threading.local()

    @cached_property
    def config(self) -> TencentCloudConfig:
        """Read the connection once; the SecretKey and token are registered with the log masker."""
        from airflow.sdk.log import mask_secret

        extra: dict[str, Any] = {}
        login = password = None
        try:
            conn = self.get_connection(self.tencentcloud_conn_id)
        except Exception as err:  # AirflowNotFoundException; fall back to the environment below
            if not os.environ.get("TENCENTCLOUD_SECRET_ID"):
                raise ValueError(
                    f"Tencent Cloud connection {self.tencentcloud_conn_id!r} was not found and "
                    "TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY are not set: create the connection "
                    f"(e.g. AIRFLOW_CONN_{self.tencentcloud_conn_id.upper()}) or set those variables"
                ) from err
        else:
            extra = conn.extra_dejson
            login, password = conn.login, conn.password

        token = extra.get("token") or None
        if not (login and password):
            login = os.environ.get("TENCENTCLOUD_SECRET_ID")
            password = os.environ.get("TENCENTCLOUD_SECRET_KEY")
            token = token or os.environ.get("TENCENTCLOUD_SESSION_TOKEN") or None
        if not (login and password):
            raise ValueError(
                f"connection {self.tencentcloud_conn_id!r} has no SecretId/SecretKey (login/password) and "
                "TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY are not set: provide one of them"
            )
        mask_secret(password)
        if token:
            mask_secret(token)

        scheme, host = parse_endpoint(self._endpoint or extra.get("endpoint") or DEFAULT_ENDPOINT)
        language = extra.get("language") or DEFAULT_LANGUAGE
        if language not in ("en-US", "zh-CN"):
            raise ValueError(f"connection extra 'language' is {language!r}: use 'en-US' or 'zh-CN'")
        timeout = float(self._timeout or extra.get("timeout") or DEFAULT_TIMEOUT)
        return TencentCloudConfig(
            secret_id=login.strip(),
            secret_key=password.strip(),
            token=token,
            region=self._region or extra.get("region") or DEFAULT_REGION,
            scheme=scheme,
            host=host,
            language=language,
            timeout=timeout,
        )

    def get_client(self) -> CommonClient:
        """A signing client for this thread (requests sessions are not shared across threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._build_client()
        return client

    def _build_client(self) -> CommonClient:
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.credential import Credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        from airflow_provider_tencent_ocr import __version__

        cfg = self.config
        http = HttpProfile(protocol=cfg.scheme, endpoint=cfg.host, reqTimeout=cfg.timeout, keepAlive=True)
        profile = ClientProfile(
            httpProfile=http,
            language=cfg.language,
            disable_region_breaker=True,
            request_client=f"airflow-provider-tencent-ocr_{__version__}",
            retryer=None,
        )
        credential = Credential(cfg.secret_id, cfg.secret_key, cfg.token)
        client = CommonClient(self.service, self.api_version, credential, cfg.region, profile=profile)
        # The SDK already resolves the proxy from the environment and pins the CA bundle; letting
        # requests redo that lookup on every call (trust_env) costs about a millisecond a request,
        # which is a third of the client's CPU at a few hundred requests per second.
        client.request.conn._session.trust_env = False
        return client

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """Send one signed request and return its ``Response`` object, or raise TencentCloudAPIError.

        Uses the client's ``_call`` (sign and send) rather than ``call_json`` so the HTTP status is
        known (5xx is retryable, 4xx is not) and an ``Error`` body is detected whatever its
        Content-Type.
        """
        from requests import RequestException
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

        try:
            http_response = self.get_client()._call(action, params)
            # The SDK streams: the body is only read here, and a connection lost mid-body raises here.
            status, body = http_response.status_code, http_response.content
        except TencentCloudSDKException as err:
            raise TencentCloudAPIError(err.get_code() or "ClientNetworkError", str(err.get_message())) from None
        except RequestException as err:
            raise TencentCloudAPIError(
                "ClientNetworkError", f"{type(err).__name__} while reading the answer", kind=ErrorKind.RETRYABLE
            ) from None
        if status != 200:
            raise TencentCloudAPIError(
                "ServerNetworkError",
                f"HTTP {status} from {self.config.host}",
                http_status=status,
                kind=ErrorKind.RETRYABLE if status >= 500 or status == 429 else ErrorKind.PER_IMAGE,
            )
        try:
            response = json.loads(body)["Response"]
            if not isinstance(response, dict) or not isinstance(response.get("Error") or {}, dict):
                raise TypeError("Response and Error must be objects")
        except (ValueError, KeyError, TypeError):
            raise TencentCloudAPIError(
                "ServerNetworkError",
                f"unreadable answer from {self.config.host}",
                http_status=status,
                kind=ErrorKind.RETRYABLE,
            ) from None
        error = response.get("Error")
        if error:
            raise TencentCloudAPIError(
                str(error.get("Code") or "UnknownError"),
                str(error.get("Message") or ""),
                response.get("RequestId"),
            )
        return response

    def test_connection(self) -> tuple[bool, str]:
        """Prove the credentials and signature without billing a recognition.

        Sends the action with no image: the service authenticates the request first and only
        then rejects its parameters, so a parameter error means the credentials are good.
        """
        try:
            self.call(ACTION, {})
        except TencentCloudAPIError as err:
            # Only an answer from the service itself (it carries a RequestId) about the parameters
            # proves anything; a proxy's 404 or a wrong host does not.
            if err.request_id and err.kind is ErrorKind.PER_IMAGE:
                return True, (
                    f"Credentials and signature accepted by {self.config.host} ({err.code} for an empty request)."
                )
            return False, f"{err.code}: {err.message}"
        except ValueError as err:
            return False, str(err)
        return True, f"Credentials and signature accepted by {self.config.host}."
