"""The service-wide facts (service, version, region, image rules), written from the API reference alone.

Each action's own facts (fields, limits, parameters) are in :mod:`tencent_ocr_emulator.actions`;
``ACTION`` and the field tuples below are RecognizeSingaporeIDCardOCR's, kept for existing callers.

The emulator must not share the provider's view of the API: a mistake there would be mirrored
here and no test could catch it. ``tests/test_emulator_independence.py`` compares the two copies.
"""

from __future__ import annotations

SERVICE = "ocr"
VERSION = "2018-11-19"
ACTION = "RecognizeSingaporeIDCardOCR"
REGIONS = frozenset({"ap-singapore"})
# Base64 text of the image: at most 7 MB.
MAX_IMAGE_BASE64_BYTES = 7 * 1024 * 1024
REQUEST_PARAMETERS = frozenset({"ImageBase64", "ImageUrl", "ReturnHeadImage"})

# Response fields, all strings (Photo and WarnCardInfos are added separately).
RESPONSE_FIELDS: tuple[str, ...] = (
    "ChName",
    "EnName",
    "Sex",
    "CountryOfBirth",
    "Birthday",
    "ID",
    "Race",
    "Address",
    "NRICCode",
    "PostCode",
    "DateOfExpiration",
    "DateOfIssue",
)
FRONT_FIELDS = ("ChName", "EnName", "Sex", "CountryOfBirth", "Birthday", "ID", "Race")
BACK_FIELDS = ("Address", "NRICCode", "PostCode", "DateOfExpiration", "DateOfIssue")

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"BM", "BMP"))


def image_format(data: bytes) -> str | None:
    """``PNG``, ``JPEG`` or ``BMP`` (the formats the service accepts) by magic bytes, else None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def encoded_length(n_bytes: int) -> int:
    """Characters of Base64 for ``n_bytes`` of image: what the 7 MB limit counts."""
    return 4 * ((n_bytes + 2) // 3)
