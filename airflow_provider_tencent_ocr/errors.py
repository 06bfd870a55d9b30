"""One exception type for every Tencent Cloud API error, classified by what the caller should do."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """What an error means for a run: try again, give up on this image, or stop everything."""

    RETRYABLE = "retryable"
    PER_IMAGE = "per_image"
    FATAL = "fatal"


_RETRYABLE_PREFIXES = ("RequestLimitExceeded", "InternalError", "ServiceUnavailable")
_RETRYABLE_CODES = frozenset(
    {
        "LimitExceeded",
        "ClientNetworkError",
        "ServerNetworkError",
        "FailedOperation.EngineRecognizeTimeout",
        "FailedOperation.WarningServiceFailed",
        "FailedOperation.UnKnowError",
    }
)
_FATAL_PREFIXES = ("AuthFailure", "UnauthorizedOperation", "ResourceUnavailable", "ResourcesSoldOut")
_FATAL_CODES = frozenset(
    {
        "FailedOperation.UnOpenError",
        "FailedOperation.ArrearsError",  # account in arrears
        "FailedOperation.CountLimitError",  # the account's daily count is used up
        "InvalidAction",
        "NoSuchVersion",
        "UnsupportedRegion",
        "UnsupportedOperation",
    }
)


def classify(code: str) -> ErrorKind:
    """Map a Tencent Cloud error code to what the caller should do about it.

    Anything not known to be transient or account-wide is treated as a problem with this one
    image (decode, download, OCR failed, bad parameter, size), so one bad row never stops a run.
    """
    if code in _RETRYABLE_CODES or code.startswith(_RETRYABLE_PREFIXES):
        return ErrorKind.RETRYABLE
    if code in _FATAL_CODES or code.startswith(_FATAL_PREFIXES):
        return ErrorKind.FATAL
    return ErrorKind.PER_IMAGE


class TencentCloudAPIError(Exception):
    """An error answered by (or on the way to) the Tencent Cloud API.

    ``message`` never contains request data: the hook builds it from the server's answer only.
    """

    def __init__(
        self,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        http_status: int | None = None,
        kind: ErrorKind | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.kind = kind or classify(code)
        super().__init__(f"{code}: {message}" + (f" (RequestId {request_id})" if request_id else ""))

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.RETRYABLE

    @property
    def fatal(self) -> bool:
        return self.kind is ErrorKind.FATAL


class InvalidImageError(ValueError):
    """An image rejected before any API call; ``code`` is the local error code for the output row."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
