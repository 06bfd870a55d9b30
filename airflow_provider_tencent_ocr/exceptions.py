"""Every exception the provider raises, in one place: one base class, and the API error taxonomy.

Every exception the provider raises on purpose derives from :class:`TencentOcrError`, so a caller
can catch the provider's errors apart from bugs and library errors. :class:`TencentCloudAPIError`
carries the API's code and what to do about it (:class:`ErrorKind`: retry, give up on this image, or
stop the run). Where an exception used to be a ``ValueError`` (``RuntimeError``, ``OSError``,
``ImportError``) it still is, as a second base, so existing ``except`` blocks keep working; those second
bases go in 1.0.0 (CHANGELOG.md). The modules that raise them import them from here, so the old import
paths (``io.manifest.ManifestError``, ``run.runner.ErrorRateExceeded``, ...) keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal


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
# The service could not download an ImageUrl: this row's problem (an expired or missing object), not the
# account's, although the code's prefix is the one of account-wide unavailability.
_PER_IMAGE_CODES = frozenset({"ResourceUnavailable.ImageDownloadError", "FailedOperation.DownLoadError"})
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
    if code in _PER_IMAGE_CODES:
        return ErrorKind.PER_IMAGE
    if code in _FATAL_CODES or code.startswith(_FATAL_PREFIXES):
        return ErrorKind.FATAL
    return ErrorKind.PER_IMAGE


class TencentOcrError(Exception):
    """Base class of every error this provider raises on purpose."""


class ConnectionConfigError(TencentOcrError, ValueError):
    """The connection (or the hook's arguments) cannot be used: missing credentials, bad endpoint or language."""


class TencentCloudAPIError(TencentOcrError):
    """An error answered by (or on the way to) the Tencent Cloud API.

    ``message`` never contains request data: the hook builds it from the server's answer only.
    For ``ClientNetworkError``, ``timeout`` says which timeout fired (``"connect"``, ``"read"`` or
    None for other network failures) and ``may_have_been_billed`` whether the request may have
    reached the service (a read timeout, or a connection lost after sending): resending it at once
    may pay twice. A connect failure never reached the service and is safe to resend.
    """

    def __init__(
        self,
        code: str,
        message: str,
        request_id: str | None = None,
        *,
        http_status: int | None = None,
        kind: ErrorKind | None = None,
        timeout: Literal["connect", "read"] | None = None,
        may_have_been_billed: bool = False,
    ) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        self.kind = kind or classify(code)
        self.timeout = timeout
        self.may_have_been_billed = may_have_been_billed
        super().__init__(f"{code}: {message}" + (f" (RequestId {request_id})" if request_id else ""))

    @property
    def retryable(self) -> bool:
        return self.kind is ErrorKind.RETRYABLE

    @property
    def fatal(self) -> bool:
        return self.kind is ErrorKind.FATAL


class InvalidImageError(TencentOcrError, ValueError):
    """An image rejected before any API call; ``code`` is the local error code for the output row."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


# -- the API's answers -----------------------------------------------------------------------------
class BodyTooLarge(TencentOcrError):
    """An HTTP body (an answer, a downloaded image) is larger than the caller accepts; ``size`` if announced."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        super().__init__(f"the body is {size} bytes" if size is not None else "the body is too large")


class BodyDeadlineExceeded(TencentOcrError):
    """An HTTP body did not finish within the caller's deadline; ``received`` bytes had arrived."""

    def __init__(self, received: int) -> None:
        self.received = received
        super().__init__(f"the body did not finish within the deadline ({received} bytes received)")


class RedirectRefused(TencentOcrError):
    """The API endpoint answered with a redirect; it was not followed (``hooks/redirects.py``)."""

    def __init__(self, status: int, target: str) -> None:
        self.status = status
        self.target = target
        super().__init__(f"HTTP {status} redirect to {target}")


# -- inputs: images, files, storage, manifests -----------------------------------------------------
class ImageDownloadError(InvalidImageError):
    """An image that could not be fetched; ``retryable`` tells the caller whether trying again may help.

    A subclass, so callers that only know :class:`InvalidImageError` still get ``code`` and ``message``.
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False, http_status: int | None = None) -> None:
        super().__init__(code, message)
        self.retryable = retryable
        self.http_status = http_status


class LinkLocalRefused(ImageDownloadError):
    """An image URL (or a redirect) leads to a link-local address; nothing was requested there (io/link_local.py)."""

    OPT_IN = "allow_link_local_images"

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            "ImageAddressRefused",
            f"the image host {host} is the link-local address {address} (169.254.0.0/16 or fe80::/10, where cloud "
            f"metadata services answer): refused. If your images really are served there, pass {self.OPT_IN}=True",
        )


class NotARegularFile(TencentOcrError, OSError):
    """A named pipe or socket: reading it could block forever, so it is refused."""


class StorageBackendMissing(TencentOcrError, ImportError):
    """No filesystem is installed for a URI's scheme; the message names the package to install."""


class TextError(TencentOcrError, ValueError):
    """The raw text cannot be read safely; the caller adds the file's name."""


class ManifestError(TencentOcrError, ValueError):
    """The manifest cannot be used; the message names the file and what to do about it.

    The message goes through ``redact_text``: a presigned manifest URL (or a library's error text
    quoting one) never carries its signature into a log or a traceback.
    """

    def __init__(self, message: str) -> None:
        from airflow_provider_tencent_ocr.io.uris import redact_text  # uris imports this module

        super().__init__(redact_text(message))


# -- runs ------------------------------------------------------------------------------------------
class OutputPathRefused(TencentOcrError, ValueError):
    """The output or cache would overwrite an input (or each other): refused before any call."""


class UnwritableRows(TencentOcrError):
    """Rows the output schema refuses (Arrow cannot convert them); nothing of the batch was written.

    ``indices`` are their positions in the batch and ``causes`` the exception type of each: never a
    value, which may be personal data. The runner turns each into an ``InvalidResponse`` error row.
    """

    def __init__(self, indices: Sequence[int], causes: Sequence[str]) -> None:
        self.indices = tuple(indices)
        self.causes = tuple(causes)
        super().__init__(
            f"{len(self.indices)} row(s) do not fit the output schema (at batch positions "
            f"{', '.join(map(str, self.indices[:10]))}{', ...' if len(self.indices) > 10 else ''}: "
            f"{', '.join(sorted(set(self.causes)))})"
        )


class UnsupportedAction(TencentOcrError):
    """A manifest row names no action, or one the provider does not serve: that row becomes an error row.

    Its message names the value's problem, never a row's personal data; the task goes on.
    """

    code = "UnsupportedAction"


class RunAborted(TencentOcrError, RuntimeError):
    """The run stopped before its end for a cause no retry fixes; ``error`` is the API error that did, if any."""

    def __init__(self, message: str, error: TencentCloudAPIError | None = None) -> None:
        self.error = error
        super().__init__(message)


class ServiceUnreachable(RunAborted):
    """No call reached the Tencent Cloud API: the connection's endpoint (or the way to it) is wrong."""


class RunStopped(TencentOcrError, RuntimeError):
    """The run was stopped from outside (the task was killed): nothing published, paid results kept in the cache."""


class ErrorRateExceeded(TencentOcrError, RuntimeError):
    """More rows than ``max_error_rate`` allows ended in per-image errors (the output is then not published)."""


class PartsIncomplete(TencentOcrError, RuntimeError):
    """The output folder is not (yet) exactly the parts of one sharded run of the manifest."""


class UnsupportedActionError(UnsupportedAction, ValueError):
    """An action name passed to the hook or the registry that the provider does not serve (a bad argument).

    A kind of :class:`UnsupportedAction`, so ``except UnsupportedAction`` catches both.
    """
