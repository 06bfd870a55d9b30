"""An API 3.0 answer off the wire: its envelope, its HTTP status, and what a network failure means.

The body itself is read under a size cap and a deadline by :func:`io.http_body.read_body`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError
from airflow_provider_tencent_ocr.io.uris import redact_text


def network_error(err: BaseException, host: str) -> TencentCloudAPIError:
    """A ``ClientNetworkError`` saying which timeout fired and whether the request may have been billed.

    Told apart by the ``requests``/``urllib3`` exception types, not by message text: a connect
    timeout, a refused or unresolvable host, a TLS handshake or proxy failure never reached the
    service (safe to resend); a read timeout or a connection lost after sending may have been
    recognised and billed. Anything not known to be a connect failure counts as possibly billed.
    """
    from requests import exceptions as rex
    from urllib3 import exceptions as uex

    timeout: Literal["connect", "read"] | None = None
    billed = True
    reason = err.args[0] if isinstance(err, rex.ConnectionError) and err.args else None
    if isinstance(reason, uex.MaxRetryError):
        reason = reason.reason
    if isinstance(err, rex.ConnectTimeout):
        timeout, billed, what = "connect", False, "connect timeout"
    elif isinstance(err, rex.ReadTimeout | uex.ReadTimeoutError) or isinstance(reason, uex.ReadTimeoutError):
        timeout, what = "read", "read timeout: the service may have recognised (and billed) the request"
    elif isinstance(err, rex.SSLError | rex.ProxyError) or isinstance(reason, uex.NewConnectionError):
        billed, what = False, "could not connect"
    elif _closed_without_answer(reason):
        what = "the server closed the connection without answering: the request may have been billed"
    else:
        what = "connection lost after the request was sent: it may have been billed"
    return TencentCloudAPIError(
        "ClientNetworkError",
        f"{what} ({type(err).__name__}, {host})",
        kind=ErrorKind.RETRYABLE,
        timeout=timeout,
        may_have_been_billed=billed,
    )


def _closed_without_answer(reason: object) -> bool:
    """The connection ended before any byte of an answer (a port that accepts and hangs up)."""
    import http.client

    from urllib3 import exceptions as uex

    if not isinstance(reason, uex.ProtocolError) or len(reason.args) < 2:
        return False
    return isinstance(reason.args[1], http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError)


def header_refused(err: ValueError, conn_id: str) -> TencentCloudAPIError:
    """The HTTP client refused a request header before sending: the connection holds an unusable value.

    A configuration error (it stops the run, nothing was sent or billed), never a network error that
    each row retries. The header's value is not quoted: it may be the STS token.
    """
    return TencentCloudAPIError(
        "InvalidHeader",
        f"the HTTP client refused a request header ({type(err).__name__}) before sending anything: a value of "
        f"connection {conn_id!r} (SecretId, STS token or region) holds a line break, spaces at its ends or a "
        "character not allowed in HTTP headers; paste it again as one line",
        kind=ErrorKind.FATAL,
    )


def http_status_error(status: int, host: str) -> TencentCloudAPIError:
    """A non-200 answer: 5xx and 429 may pass, any other status will not."""
    return TencentCloudAPIError(
        "ServerNetworkError",
        f"HTTP {status} from {host}",
        http_status=status,
        kind=ErrorKind.RETRYABLE if status >= 500 or status == 429 else ErrorKind.PER_IMAGE,
    )


def parse_answer(body: bytes, host: str) -> dict[str, Any]:
    """The ``Response`` object of an API 3.0 answer; its ``Error`` raised as TencentCloudAPIError."""
    try:
        response = json.loads(body)["Response"]
        if not isinstance(response, dict) or not isinstance(response.get("Error") or {}, dict):
            raise TypeError("Response and Error must be objects")
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested past the parser's depth
        raise TencentCloudAPIError(
            "ServerNetworkError", f"unreadable answer from {host}", http_status=200, kind=ErrorKind.RETRYABLE
        ) from None
    request_id = response.get("RequestId")
    if request_id is None or request_id == "":
        # Every answer of the API carries one: JSON without it comes from something else at this address.
        # (One of the wrong type is the API's answer gone wrong: the row's InvalidResponse.)
        raise TencentCloudAPIError(
            "ServerNetworkError",
            f"an answer without a RequestId from {host} (JSON, but not the Tencent Cloud API's)",
            http_status=200,
            kind=ErrorKind.RETRYABLE,
        )
    error = response.get("Error")
    if error:
        raise TencentCloudAPIError(
            str(error.get("Code") or "UnknownError"),
            redact_text(str(error.get("Message") or "")),  # it may quote the request's (presigned) ImageUrl
            request_id if isinstance(request_id, str) else None,
        )
    return response
