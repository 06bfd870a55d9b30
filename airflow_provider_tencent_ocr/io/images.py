"""Fetching image bytes from any URI and checking them before a single API call is paid for."""

from __future__ import annotations

import base64
import logging
import threading
import urllib.parse
from typing import Any, BinaryIO

from airflow_provider_tencent_ocr.actions.singapore_id_card import MAX_IMAGE_BASE64_BYTES
from airflow_provider_tencent_ocr.exceptions import (
    BodyDeadlineExceeded,
    BodyTooLarge,
    ImageDownloadError,
    InvalidImageError,
)
from airflow_provider_tencent_ocr.io import link_local
from airflow_provider_tencent_ocr.io.http_body import read_body
from airflow_provider_tencent_ocr.io.http_deadline import enforce_deadlines, exchange_deadline
from airflow_provider_tencent_ocr.io.uris import (
    NotARegularFile,
    display_uri,
    local_path,
    open_local,
    password_in_uri,
    redact_uri,
    scheme,
    storage_install_hint,
)

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"))


def sniff_format(data: bytes) -> str | None:
    """``PNG``, ``JPEG`` or ``BMP`` from the magic bytes; None for anything the API refuses."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def base64_length(n_bytes: int) -> int:
    """Length of the Base64 text for ``n_bytes`` of data (the API's 7 MB limit counts this)."""
    return 4 * ((n_bytes + 2) // 3)


def check_image_bytes(data: bytes) -> str:
    """Return the format, or raise :class:`InvalidImageError` with the output row's error code."""
    if base64_length(len(data)) > MAX_IMAGE_BASE64_BYTES:
        raise InvalidImageError(
            "ImageTooLarge",
            f"image is {len(data)} bytes, {base64_length(len(data))} after Base64; the API accepts at most "
            f"{MAX_IMAGE_BASE64_BYTES} bytes of Base64: downscale or recompress it",
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidImageError(
            "UnsupportedImageFormat", "image is not PNG, JPEG or BMP (checked by its first bytes): convert it"
        )
    return fmt


class CheckedBase64(str):
    """Base64 text of image bytes that :func:`check_image_bytes` passed (made by :func:`encode_checked`).

    The run checks each image's bytes once, after reading them; the hook then skips decoding and
    checking them again on every attempt. It still checks the length against the action's limit.
    """

    __slots__ = ()


def encode_checked(data: bytes) -> CheckedBase64:
    """The bytes' Base64 text, once :func:`check_image_bytes` has passed them (else InvalidImageError)."""
    check_image_bytes(data)
    return CheckedBase64(base64.b64encode(data).decode("ascii"))


# --------------------------------------------------------------------------------------------------
# Loading image bytes from a URI

# The largest raw image whose Base64 text fits the API limit: downloads stop one byte past it.
MAX_IMAGE_BYTES = MAX_IMAGE_BASE64_BYTES // 4 * 3
_RETRYABLE_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
_sessions = threading.local()


def is_http_url(uri: str) -> bool:
    """Whether the URI is fetched over HTTP(S) (and could be passed to the API as ``ImageUrl``)."""
    return bool(uri) and uri[:8].lower().startswith(("http://", "https://"))


def load_image(
    uri: str,
    *,
    storage_conn_id: str | None = None,
    timeout: float = 30.0,
    deadline: float | None = None,
    allow_link_local: bool = False,
) -> bytes:
    """The bytes of one image from a local path, ``file://``, ``http(s)://`` or any object store.

    ``timeout`` bounds each network read; ``deadline`` (default: twice ``timeout``) bounds a whole
    HTTP download, so a server that drips one byte at a time cannot hold a worker for minutes.
    Raises :class:`ImageDownloadError` (an :class:`InvalidImageError`) with code ``ImageNotFound``,
    ``ImageDownloadFailed``, ``ImageTooLarge``, ``InvalidManifestRow`` or ``ImageAddressRefused`` (an
    http(s) URL, or a redirect, leading to a link-local address; ``allow_link_local=True`` permits it).
    No retries here: the caller owns that policy.
    """
    if not uri or not uri.strip():
        raise ImageDownloadError("ImageNotFound", "the image URI is empty: fill in the manifest row")
    if "\x00" in uri:
        raise ImageDownloadError(
            "InvalidManifestRow", "the image URI contains a NUL byte: fix the manifest row (no path or URL has one)"
        )
    path = local_path(uri)
    if path is not None:
        return _load_local(path, uri)
    if scheme(uri) in ("http", "https"):
        return _load_http(uri, timeout, deadline if deadline is not None else 2 * timeout, allow_link_local)
    return _load_object(uri, storage_conn_id)


def _too_large(uri: str, size: int | None = None) -> ImageDownloadError:
    got = f"is {size} bytes" if size is not None else f"is more than {MAX_IMAGE_BYTES} bytes"
    return ImageDownloadError(
        "ImageTooLarge",
        f"image {display_uri(uri)} {got}; the API accepts at most {MAX_IMAGE_BYTES} bytes "
        f"({MAX_IMAGE_BASE64_BYTES} bytes of Base64): downscale or recompress it",
    )


def _read_capped(fh: BinaryIO, uri: str) -> bytes:
    data = fh.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise _too_large(uri)
    return data


def _load_local(path: str, uri: str) -> bytes:
    try:
        with open_local(path) as fh:
            return _read_capped(fh, uri)
    except NotARegularFile as exc:
        raise ImageDownloadError(
            "ImageNotFound", f"image {uri} is {exc}: point the manifest row at an image file"
        ) from exc
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ImageDownloadError(
            "ImageNotFound", f"image {uri} does not exist: check the path in the manifest"
        ) from exc
    except IsADirectoryError as exc:
        raise ImageDownloadError(
            "ImageNotFound", f"image {uri} is a directory, not a file: check the path in the manifest"
        ) from exc
    except PermissionError as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed", f"image {uri} is not readable (permission denied): fix its permissions"
        ) from exc
    except OSError as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed", f"image {uri} could not be read ({type(exc).__name__}: {exc.strerror})"
        ) from exc


class _NoSecretsInRequestLines(logging.Filter):
    """urllib3 logs every request line at DEBUG, query string included: drop signatures and tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_target(a) if isinstance(a, str) and "?" in a else a for a in record.args)
        return True


def _redact_target(target: str) -> str:
    """A request target (``/path?query``) without credential parameters."""
    base = "http://host"
    redacted = redact_uri(base + (target if target.startswith("/") else "/" + target)) or base
    return redacted[len(base) :] if target.startswith("/") else redacted[len(base) + 1 :]


_REQUEST_LOG_FILTER = _NoSecretsInRequestLines()


def _session(allow_link_local: bool) -> Any:
    """One ``requests`` session per thread and policy: connections are reused, sessions are not shared.

    By default the session refuses link-local addresses (see :mod:`.link_local`).
    """
    name = "open_session" if allow_link_local else "session"
    session = getattr(_sessions, name, None)
    if session is None:
        import requests

        pool_logger = logging.getLogger("urllib3.connectionpool")
        if _REQUEST_LOG_FILTER not in pool_logger.filters:
            pool_logger.addFilter(_REQUEST_LOG_FILTER)
        session = requests.Session()
        enforce_deadlines(session)  # the download deadline covers the headers too
        if not allow_link_local:
            link_local.refuse_link_local(session)
        setattr(_sessions, name, session)
    return session


def _load_http(uri: str, timeout: float, deadline: float, allow_link_local: bool) -> bytes:
    """The image over HTTP(S): ``timeout`` for each read, ``deadline`` for the whole download, headers included."""
    if not allow_link_local:
        link_local.check_url(uri)
    with exchange_deadline(deadline) as exchange:
        try:
            data = _get(uri, timeout, deadline, exchange.deadline_at, allow_link_local)
        except ImageDownloadError:
            if not exchange.expired:
                raise
        else:
            if not exchange.expired:
                return data
    raise ImageDownloadError(
        "ImageDownloadFailed",
        f"image {display_uri(uri)} took longer than {deadline:g} s to download (headers included): the server "
        "is too slow; try again later",
        retryable=True,
    )


def _get(uri: str, timeout: float, deadline: float, deadline_at: float, allow_link_local: bool) -> bytes:
    import requests
    import urllib3

    shown = display_uri(uri)
    try:
        with _session(allow_link_local).get(uri, timeout=timeout, stream=True) as response:
            if response.status_code >= 400:
                raise ImageDownloadError(
                    "ImageDownloadFailed",
                    f"image {shown} answered HTTP {response.status_code}: check the URL "
                    "(expired links and missing objects answer 403/404)",
                    retryable=response.status_code in _RETRYABLE_HTTP,
                    http_status=response.status_code,
                )
            try:
                return read_body(response, MAX_IMAGE_BYTES, deadline_at)
            except BodyTooLarge as err:
                raise _too_large(uri, err.size) from None
            except BodyDeadlineExceeded as err:
                raise ImageDownloadError(
                    "ImageDownloadFailed",
                    f"image {shown} took longer than {deadline:g} s to download "
                    f"({err.received} bytes received): the server is too slow; try again later",
                    retryable=True,
                ) from None
    except (requests.Timeout, urllib3.exceptions.TimeoutError) as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} timed out after {timeout:g} s without data: try again later",
            retryable=True,
        ) from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:  # refused, reset, bad chunking...
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} could not be downloaded ({type(exc).__name__}): check the host is reachable",
            retryable=True,
        ) from exc


#: Bucket stores whose URIs name a bucket and a key (``send_as="url"`` presigns them).
OBJECT_STORE_SCHEMES = frozenset({"cos", "s3", "s3a", "gs", "gcs"})


def check_object_uri(uri: str) -> None:
    """Refuse a bucket-store URI naming no bucket or no object (``cos:///a.png``, ``s3://bucket/``)."""
    if scheme(uri) not in OBJECT_STORE_SCHEMES:
        return
    if password_in_uri(uri):
        raise ImageDownloadError(
            "InvalidManifestRow",
            f"image URI {display_uri(uri)} was given with user:password@ in it, which is never used (nor shown): "
            "put the credentials in an Airflow connection (storage_conn_id) and remove them from the manifest row",
        )
    parts = urllib.parse.urlsplit(uri)
    key = parts.path.lstrip("/")
    if not parts.netloc or not key or key.endswith("/"):
        raise ImageDownloadError(
            "InvalidManifestRow",
            f"image URI {display_uri(uri)} names no object: give scheme://bucket/key (fix the manifest row)",
        )


def _load_object(uri: str, storage_conn_id: str | None) -> bytes:
    from airflow_provider_tencent_ocr.io import storage

    shown = display_uri(uri)
    check_object_uri(uri)
    try:
        with storage.open_read(uri, conn_id=storage_conn_id) as fh:
            return _read_capped(fh, uri)
    except InvalidImageError:
        raise
    except FileNotFoundError as exc:
        raise ImageDownloadError(
            "ImageNotFound", f"image {shown} does not exist: check the URI and storage_conn_id"
        ) from exc
    except PermissionError as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed", f"image {shown} is not readable (permission denied): check storage_conn_id"
        ) from exc
    except ImportError as exc:  # the scheme's filesystem package (e.g. s3fs) is not installed
        raise ImageDownloadError(
            "ImageDownloadFailed", f"image {shown} cannot be opened: {storage_install_hint(uri)}"
        ) from exc
    except ValueError as exc:  # "No filesystem registered for scheme ..."
        if (config := storage.configuration_error(exc, uri)) is not None:
            raise config from exc  # a missing connection fails the run, not each row
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} cannot be opened ({exc}): {storage_install_hint(uri)}, or check the URI",
        ) from exc
    except Exception as exc:  # network and service errors of whichever filesystem backs the scheme
        if (config := storage.configuration_error(exc, uri)) is not None:
            raise config from exc  # a missing connection fails the run, not each row
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} could not be read ({type(exc).__name__}): check storage_conn_id and the object",
            retryable=True,
        ) from exc
