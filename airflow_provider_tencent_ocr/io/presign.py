"""Images the service downloads itself (``send_as="url"``): a short-lived presigned GET URL per object.

The worker then moves no image bytes: it asks the store for the object's metadata (one HEAD) and
signs a URL locally. The signed URL is a secret for its lifetime, so it lives only in the request:
the output and the logs show the ``cos://`` / ``s3://`` / ``gs://`` URI, and the result cache is keyed
by :attr:`SignedImage.identity` (the object and its version or ETag), so re-signing the same object
never pays for it again, and a replaced object is recognised anew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.images import (
    MAX_IMAGE_BYTES,
    OBJECT_STORE_SCHEMES,
    ImageDownloadError,
    check_object_uri,
)
from airflow_provider_tencent_ocr.io.uris import display_uri, scheme

# Long enough for the service to fetch it (it allows itself 3 s) and for retries after throttling;
# short enough that a leaked URL soon stops working. A retry after it expires re-signs.
PRESIGNED_SECONDS = 600
# Object stores whose fsspec filesystems can presign a GET (s3fs, gcsfs; cos is s3fs).
# What the service answers when it could not download an ImageUrl.
SERVICE_DOWNLOAD_ERRORS = frozenset({"FailedOperation.DownLoadError", "ResourceUnavailable.ImageDownloadError"})


def _not_a_signing_step(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


def _quiet_signing_log() -> None:
    """botocore logs each signing step at DEBUG, a presigned URL's query and signature included: drop them.

    A filter (not a level) holds whatever level is set later; adding it again is a no-op.
    """
    logging.getLogger("botocore.auth").addFilter(_not_a_signing_step)


def is_object_store_uri(uri: str) -> bool:
    """Whether ``send_as="url"`` can presign this URI."""
    return scheme(uri) in OBJECT_STORE_SCHEMES


@dataclass(frozen=True)
class SignedImage:
    """A presigned URL and the identity of the object it reads; ``repr`` never shows the URL."""

    url: str = field(repr=False)
    identity: str


def _identity(uri: str, path: str, info: dict[str, object]) -> str:
    """``scheme://bucket/key`` plus its version (or ETag, or size and time): what was recognised."""
    version = info.get("VersionId") or info.get("generation")
    if version:
        return f"{scheme(uri)}://{path}#version={version}"
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    if etag:
        return f"{scheme(uri)}://{path}#etag={str(etag).strip(chr(34))}"
    changed = info.get("LastModified") or info.get("updated") or info.get("mtime")
    return f"{scheme(uri)}://{path}#size={info.get('size')},modified={changed}"


def sign_image(uri: str, *, conn_id: str | None, expires: int = PRESIGNED_SECONDS) -> SignedImage:
    """Presign a GET of the image at ``uri`` after checking it is there and small enough.

    Raises :class:`ImageDownloadError` (``ImageNotFound``, ``ImageTooLarge``, ``ImageDownloadFailed``;
    retryable for network and service errors of the store) before anything is sent to the API.
    """
    shown = display_uri(uri)
    check_object_uri(uri)
    _quiet_signing_log()
    try:
        fs, path = storage.filesystem(uri, conn_id)
        fs.invalidate_cache(path)  # a replaced object must get its new ETag, not a listing's old one
        info = fs.info(path)
    except FileNotFoundError as exc:
        raise ImageDownloadError(
            "ImageNotFound", f"image {shown} does not exist: check the URI and storage_conn_id"
        ) from exc
    except PermissionError as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed", f"image {shown} is not readable (permission denied): check storage_conn_id"
        ) from exc
    except ImportError as exc:
        raise ImageDownloadError("ImageDownloadFailed", f"image {shown} cannot be opened: {exc}") from exc
    except Exception as exc:  # the store's network and service errors
        if (config := storage.configuration_error(exc, uri)) is not None:
            raise config from exc  # a missing connection fails the run, not each row
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} could not be looked up ({type(exc).__name__}): check storage_conn_id and the object",
            retryable=True,
        ) from exc
    if info.get("type") == "directory":
        raise ImageDownloadError("ImageNotFound", f"image {shown} is a folder, not an object: check the manifest")
    size = info.get("size")
    if isinstance(size, int) and size > MAX_IMAGE_BYTES:
        raise ImageDownloadError(
            "ImageTooLarge",
            f"image {shown} is {size} bytes; the API accepts at most {MAX_IMAGE_BYTES} bytes: "
            "downscale or recompress it",
        )
    try:
        url = fs.sign(path, expiration=expires)
    except NotImplementedError as exc:
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"the filesystem of {scheme(uri)}:// cannot presign URLs: use send_as='base64' for these images",
        ) from exc
    except Exception as exc:  # e.g. credentials that cannot sign (gcsfs without a service account key)
        raise ImageDownloadError(
            "ImageDownloadFailed",
            f"image {shown} could not be presigned ({type(exc).__name__}): check storage_conn_id, "
            "or use send_as='base64'",
        ) from exc
    return SignedImage(url=url, identity=_identity(uri, path, info))
