"""Reading an API 3.0 answer off the wire: a size cap, a deadline, its envelope, and what a network failure means."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider_tencent_ocr.exceptions import BodyTooLarge, ErrorKind, TencentCloudAPIError

if TYPE_CHECKING:
    import requests

_CHUNK = 64 * 1024


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
    else:
        what = "connection lost after the request was sent: it may have been billed"
    return TencentCloudAPIError(
        "ClientNetworkError",
        f"{what} ({type(err).__name__}, {host})",
        kind=ErrorKind.RETRYABLE,
        timeout=timeout,
        may_have_been_billed=billed,
    )


def read_body(response: requests.Response, limit: int, deadline: float) -> bytes:
    """The answer's body, read in chunks: at most ``limit`` bytes, and finished before ``deadline``.

    Raises ``BodyTooLarge`` past the limit (announced or actual) and ``requests.ReadTimeout`` past the
    deadline (a body trickled one byte at a time never trips the per-read timeout).
    """
    from requests import ReadTimeout

    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while chunk := response.raw.read1(_CHUNK, decode_content=True):  # what has arrived, never waiting for more
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        if time.monotonic() > deadline:
            raise ReadTimeout("the answer did not finish within the timeout")
        chunks.append(chunk)
    return b"".join(chunks)


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
    except (ValueError, KeyError, TypeError):
        raise TencentCloudAPIError(
            "ServerNetworkError", f"unreadable answer from {host}", http_status=200, kind=ErrorKind.RETRYABLE
        ) from None
    error = response.get("Error")
    if error:
        request_id = response.get("RequestId")
        raise TencentCloudAPIError(
            str(error.get("Code") or "UnknownError"),
            str(error.get("Message") or ""),
            request_id if isinstance(request_id, str) else None,
        )
    return response
