"""Fetching image bytes from any URI and checking them before a single API call is paid for."""

from __future__ import annotations

import base64

from airflow_provider_tencent_ocr.actions.singapore_id_card import MAX_IMAGE_BASE64_BYTES
from airflow_provider_tencent_ocr.errors import InvalidImageError

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


def encode_checked(data: bytes) -> str:
    """Check the bytes and return their Base64 text for ``ImageBase64``."""
    check_image_bytes(data)
    return base64.b64encode(data).decode("ascii")
