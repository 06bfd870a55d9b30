"""TencentCloudHook: credentials from an Airflow connection, and signed calls to one Tencent Cloud API 3.0 service.

The service, its API version and the actions belong to the caller (a subclass such as
``TencentOcrHook``, or the ``service=`` / ``api_version=`` arguments). Signing (TC3-HMAC-SHA256)
is done by the SDK's ``CommonClient``; its retryer, region breaker and connection pre-warming are
not used, because retries belong to the caller, which knows what is safe to resend.

Three SDK internals are used, each pinned by ``tests/hooks/test_tencentcloud_hook.py`` and the SDK range in
``pyproject.toml``: ``CommonClient._call`` (sign and send, returning the streamed HTTP answer),
``client.request.conn._session`` (the ``requests`` session) and the implicit exception chaining
by which a ``ClientNetworkError`` carries the ``requests`` exception that caused it.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseHook

from airflow_provider_tencent_ocr.actions.spec import MAX_RESPONSE_BYTES
from airflow_provider_tencent_ocr.exceptions import (
    BodyDeadlineExceeded,
    BodyTooLarge,
    ConnectionConfigError,
    ErrorKind,
    TencentCloudAPIError,
)
from airflow_provider_tencent_ocr.hooks.config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_LANGUAGE,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT,
    TencentCloudConfig,
    connection_destination,
    header_value,
    normalise,
    parse_endpoint,
)
from airflow_provider_tencent_ocr.hooks.connection_guard import stored_key_conflict
from airflow_provider_tencent_ocr.hooks.redirects import RedirectRefused, redirect_error, refuse_session_redirects
from airflow_provider_tencent_ocr.hooks.transport import (
    header_refused,
    http_status_error,
    network_error,
    parse_answer,
)
from airflow_provider_tencent_ocr.io.http_body import read_body
from airflow_provider_tencent_ocr.io.http_deadline import enforce_deadlines, exchange_deadline

if TYPE_CHECKING:
    from tencentcloud.common.common_client import CommonClient

__all__ = ["DEFAULT_REGION", "TencentCloudConfig", "TencentCloudHook", "parse_endpoint"]

# An answer without a portrait is a few kilobytes; anything past this is not the API talking.
DEFAULT_MAX_RESPONSE_BYTES = MAX_RESPONSE_BYTES  # the API's answers without images: a few kB
_SDK_LOGGER = "tencentcloud_sdk_common"


def _warning_or_above(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def _quiet_sdk_logger() -> None:
    """Drop the SDK's DEBUG records (whole requests: Authorization, X-TC-Token, image Base64).

    A filter holds whatever level anyone later sets on the logger. ``addFilter`` ignores a filter
    already present, so calling this for every client is harmless.
    """
    logging.getLogger(_SDK_LOGGER).addFilter(_warning_or_above)


class TencentCloudHook(BaseHook):
    """Signed access to one Tencent Cloud API 3.0 service through a ``tencentcloud`` connection.

    The connection's login is the SecretId and its password the SecretKey; host, port and schema
    (``https`` or ``http``) say where requests go (default ``<service>.tencentcloudapi.com``); extras
    ``region``, ``token``, ``language``, ``timeout``, and ``endpoint`` (read when host is empty).
    Without login/password the hook uses ``TENCENTCLOUD_SECRET_ID`` / ``TENCENTCLOUD_SECRET_KEY`` /
    ``TENCENTCLOUD_SESSION_TOKEN``.

    :param tencentcloud_conn_id: the Airflow connection.
    :param service: the API's service name, e.g. ``"ocr"`` (a subclass may set it as a class attribute).
    :param api_version: the service's API version, e.g. ``"2018-11-19"``.
    :param region: overrides the connection's region.
    :param endpoint: overrides the connection's endpoint (default ``<service>.tencentcloudapi.com``).
    :param timeout: seconds to wait for the answer, and to read it; overrides the connection's ``timeout``.
    :param connect_timeout: seconds to open the connection (default the smaller of ``timeout`` and 10).
    """

    conn_name_attr = "tencentcloud_conn_id"
    default_conn_name = "tencentcloud_default"
    conn_type = "tencentcloud"
    hook_name = "Tencent Cloud"

    service: str | None = None
    api_version: str | None = None
    # The request test_connection sends: an action the service authenticates and then rejects for
    # its (empty) parameters, so nothing is billed. Each service's hook names one.
    connection_probe: ClassVar[tuple[str, dict[str, Any]] | None] = None

    def __init__(
        self,
        tencentcloud_conn_id: str = default_conn_name,
        *,
        service: str | None = None,
        api_version: str | None = None,
        region: str | None = None,
        endpoint: str | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        super().__init__()
        self.tencentcloud_conn_id = tencentcloud_conn_id
        self.service = service or self.service
        self.api_version = api_version or self.api_version
        self._region = region
        self._endpoint = endpoint
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._local = threading.local()

    @cached_property
    def config(self) -> TencentCloudConfig:
        """Read the connection once; the SecretKey and token are registered with the log masker."""
        from airflow.sdk.log import mask_secret

        extra: dict[str, Any] = {}
        login = password = host = schema = None
        port: int | None = None
        try:
            conn = self.get_connection(self.tencentcloud_conn_id)
        except Exception as err:  # AirflowNotFoundException; fall back to the environment below
            if not os.environ.get("TENCENTCLOUD_SECRET_ID"):
                raise ConnectionConfigError(
                    f"Tencent Cloud connection {self.tencentcloud_conn_id!r} was not found and "
                    "TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY are not set: create the connection "
                    f"(e.g. AIRFLOW_CONN_{self.tencentcloud_conn_id.upper()}) or set those variables"
                ) from err
        else:
            extra = conn.extra_dejson
            login, password = conn.login, conn.password
            host, port, schema = conn.host, conn.port, conn.schema

        token = extra.get("token") or None
        from_environment = not (login and password)
        if from_environment:
            login = os.environ.get("TENCENTCLOUD_SECRET_ID")
            password = os.environ.get("TENCENTCLOUD_SECRET_KEY")
            token = token or os.environ.get("TENCENTCLOUD_SESSION_TOKEN") or None
        if not (login and password):
            raise ConnectionConfigError(
                f"connection {self.tencentcloud_conn_id!r} has no SecretId/SecretKey (login/password) and "
                "TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY are not set: provide one of them"
            )
        mask_secret(password)
        if token:
            mask_secret(token)
        conn_id = self.tencentcloud_conn_id
        secret_id = header_value(login, "SecretId (login)", conn_id, secret=False)
        secret_key = header_value(password, "SecretKey (password)", conn_id, secret=True)
        token = header_value(token, "STS token (extra 'token')", conn_id, secret=True) if token else None
        region = header_value(self._region or extra.get("region") or DEFAULT_REGION, "region", conn_id, secret=False)

        if self._endpoint:
            scheme, netloc = normalise(parse_endpoint(self._endpoint))
        else:
            scheme, netloc = connection_destination(
                host=host,
                port=port,
                schema=schema,
                endpoint=extra.get("endpoint"),
                default_endpoint=self._default_endpoint(),
            )
        language = extra.get("language") or DEFAULT_LANGUAGE
        if language not in ("en-US", "zh-CN"):
            raise ConnectionConfigError(f"connection extra 'language' is {language!r}: use 'en-US' or 'zh-CN'")
        timeout = float(self._timeout or extra.get("timeout") or DEFAULT_TIMEOUT)
        return TencentCloudConfig(
            secret_id=secret_id,
            secret_key=secret_key,
            token=token or None,
            region=region,
            scheme=scheme,
            host=netloc,
            language=language,
            timeout=timeout,
            connect_timeout=float(self._connect_timeout or min(timeout, DEFAULT_CONNECT_TIMEOUT)),
            from_environment=from_environment,
        )

    def _default_endpoint(self) -> str:
        if not self.service:
            raise ConnectionConfigError(
                f"{type(self).__name__} has no service: pass service= and api_version=, or use the service's hook"
            )
        return f"{self.service}.tencentcloudapi.com"

    def get_conn(self) -> CommonClient:
        """The signing client for this thread (``requests`` sessions are not shared across threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._build_client()
        return client

    def request_timeout(self) -> float:
        """Seconds each request may take, from the connection (a run's adaptive concurrency learns from it)."""
        return float(self.config.timeout)

    def warm_up(self) -> None:
        """Build this thread's client now, so a caller that paces its calls does not send the first one late."""
        self.get_conn()

    def get_client(self) -> CommonClient:
        """Deprecated 0.1 name of :meth:`get_conn` (Airflow's convention); removed in 1.0.0."""
        warnings.warn("get_client() is deprecated and goes in 1.0.0: use get_conn()", DeprecationWarning, stacklevel=2)
        return self.get_conn()

    def _build_client(self) -> CommonClient:
        from tencentcloud.common.common_client import CommonClient
        from tencentcloud.common.credential import Credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        from airflow_provider_tencent_ocr import __version__

        if not (self.service and self.api_version):
            raise ConnectionConfigError(f"{type(self).__name__} needs service= and api_version= to build a client")
        _quiet_sdk_logger()
        cfg = self.config
        # reqTimeout goes to requests as is: a (connect, read) pair times each phase on its own.
        timeouts = (cfg.connect_timeout, cfg.timeout)
        http = HttpProfile(protocol=cfg.scheme, endpoint=cfg.host, reqTimeout=timeouts, keepAlive=True)
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
        session = client.request.conn._session
        session.trust_env = False
        enforce_deadlines(session)  # the timeout bounds the whole exchange, headers included
        # The API never redirects; following one would resend the signed request and its image elsewhere.
        refuse_session_redirects(session)
        return client

    def call(self, action: str, params: dict[str, Any], *, max_response_bytes: int | None = None) -> dict[str, Any]:
        """Send one signed request and return its ``Response`` object, or raise TencentCloudAPIError.

        The body is read under a size cap (``max_response_bytes``, default 1 MiB) and a deadline
        (``timeout`` after the answer starts); an ``Error`` object is detected whatever the
        Content-Type (the SDK looks only at ``application/json`` answers).
        """
        limit = max_response_bytes or DEFAULT_MAX_RESPONSE_BYTES
        return parse_answer(self._exchange(action, params, limit), self.config.host)

    def _exchange(self, action: str, params: dict[str, Any], limit: int) -> bytes:
        """Sign and send under one deadline for the whole exchange (``timeout``, headers included).

        A server trickling its status line or headers one byte at a time never trips the per-read
        timeout; the deadline shuts the socket down instead (see ``io.http_deadline``), and what
        that cut short is reported as the read timeout it is (the request may have been billed).
        """
        from requests import ReadTimeout

        cfg = self.config
        with exchange_deadline(cfg.timeout) as exchange:
            try:
                body = self._send(action, params, limit, exchange.deadline_at)
            except TencentCloudAPIError as err:
                if not exchange.expired or err.code not in ("ClientNetworkError", "ServerNetworkError"):
                    raise
            else:
                if not exchange.expired:
                    return body
        late = ReadTimeout(f"the answer did not finish within the timeout of {cfg.timeout:g} s, headers included")
        raise network_error(late, cfg.host)

    def _send(self, action: str, params: dict[str, Any], limit: int, deadline_at: float) -> bytes:
        """Sign and send; the body of a 200 answer, or TencentCloudAPIError for anything else.

        Uses the client's ``_call`` rather than ``call_json`` so the HTTP status is known (5xx is
        retryable, 4xx is not) and the body is still unread (streamed), so it can be capped.
        """
        from requests import RequestException
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from urllib3.exceptions import DecodeError, HTTPError

        cfg = self.config
        http_response = None
        try:
            http_response = self.get_conn()._call(action, params)
            if http_response.status_code != 200:
                raise http_status_error(http_response.status_code, cfg.host)
            return read_body(http_response, limit, deadline_at)
        except BodyDeadlineExceeded:  # trickled past the timeout: a read timeout, the request may be billed
            from requests import ReadTimeout

            raise network_error(ReadTimeout("the answer did not finish within the timeout"), cfg.host) from None
        except TencentCloudSDKException as err:
            cause, code = err.__context__, err.get_code() or "ClientError"
            if isinstance(cause, RedirectRefused):
                raise redirect_error(cause, cfg.host, self.tencentcloud_conn_id) from None
            if isinstance(cause, ValueError) and "header" in str(cause).lower():
                raise header_refused(cause, self.tencentcloud_conn_id) from None
            if code == "ClientNetworkError" and isinstance(cause, Exception):
                raise network_error(cause, cfg.host) from None
            # Without its cause nothing tells a connect failure from a lost answer: assume the worst.
            billed = code == "ClientNetworkError"
            raise TencentCloudAPIError(code, str(err.get_message()), may_have_been_billed=billed) from None
        except DecodeError:  # a body that says gzip and is not: the service answered, unreadably
            raise TencentCloudAPIError(
                "ServerNetworkError",
                f"unreadable answer from {cfg.host}",
                http_status=200,
                kind=ErrorKind.RETRYABLE,
                may_have_been_billed=True,
            ) from None
        except (RequestException, HTTPError) as err:  # raised while reading the body: the answer had started
            raise network_error(err, cfg.host) from None
        except BodyTooLarge:
            raise TencentCloudAPIError(
                "ResponseTooLarge",
                f"the answer from {cfg.host} is larger than {limit} bytes; it was not read",
                http_status=200,
                kind=ErrorKind.PER_IMAGE,
                may_have_been_billed=True,
            ) from None
        finally:
            if http_response is not None:
                http_response.close()

    def test_connection(self) -> tuple[bool, str]:
        """Prove the credentials and signature without billing anything.

        Sends the service's probe (``connection_probe``): the service authenticates the request
        first and only then rejects its parameters, so a parameter error means the credentials
        are good. Refuses to sign for an endpoint, region or scheme other than the one stored
        with this SecretKey (see :func:`stored_key_conflict`).
        """
        try:
            if self.connection_probe is None:
                return False, (
                    f"{type(self).__name__} has no connection probe for service {self.service!r}: "
                    "test the connection with the service's hook (e.g. TencentOcrHook)"
                )
            refusal = stored_key_conflict(
                self.config,
                own_conn_id=self.tencentcloud_conn_id,
                conn_type=self.conn_type,
                default_endpoint=self._default_endpoint(),
            )
            if refusal:
                return False, refusal
            action, params = self.connection_probe
            self.call(action, dict(params))
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
