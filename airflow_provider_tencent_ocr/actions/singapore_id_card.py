"""RecognizeSingaporeIDCardOCR: request, response fields, and the meaning of its warn codes.

Warn codes are decoded per action: the same numbers mean other things in other OCR actions.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

ACTION = "RecognizeSingaporeIDCardOCR"
SERVICE = "ocr"
VERSION = "2018-11-19"
MAX_IMAGE_BASE64_BYTES = 7 * 1024 * 1024
MAX_RESPONSE_BYTES = 1024 * 1024  # an answer without a portrait is a few kB

# Tencent response field -> output column (order is the output order).
RESPONSE_FIELDS: dict[str, str] = {
    "ChName": "ch_name",
    "EnName": "en_name",
    "Sex": "sex",
    "CountryOfBirth": "country_of_birth",
    "Birthday": "birthday",
    "Address": "address",
    "ID": "id_number",
    "Race": "race",
    "NRICCode": "nric_code",
    "PostCode": "post_code",
    "DateOfExpiration": "date_of_expiration",
    "DateOfIssue": "date_of_issue",
}
FRONT_FIELDS = ("ChName", "EnName", "Sex", "CountryOfBirth", "Birthday", "ID", "Race")
BACK_FIELDS = ("Address", "NRICCode", "PostCode", "DateOfExpiration", "DateOfIssue")

# Warn code -> output boolean column, in the documented order.
WARN_CODES: dict[int, str] = {
    -9101: "warn_covered",
    -9102: "warn_photocopy",
    -9103: "warn_photographed",
    -9104: "warn_edited",
    -9107: "warn_reflective",
    -9108: "warn_blurry",
    -9109: "warn_not_enabled",
}
WARN_MEANINGS: dict[int, str] = {
    -9101: "card covered / occluded",
    -9102: "photocopied card",
    -9103: "photographed card (screen recapture)",
    -9104: "edited card (PS)",
    -9107: "reflective card (glare)",
    -9108: "blurry image",
    -9109: "warning capability not enabled",
}


def build_request(
    *, image_base64: str | None = None, image_url: str | None = None, return_head_image: bool = False
) -> dict[str, Any]:
    """The JSON body; ``ImageUrl`` wins when both are given, as on the service."""
    params: dict[str, Any] = {}
    if image_url:
        params["ImageUrl"] = image_url
    elif image_base64:
        params["ImageBase64"] = image_base64
    if return_head_image:
        params["ReturnHeadImage"] = True
    return params


def max_response_bytes(*, return_head_image: bool) -> int:
    """The largest answer read: the fields take a few kB, a portrait at most the image sent (7 MB Base64)."""
    return MAX_IMAGE_BASE64_BYTES + MAX_RESPONSE_BYTES if return_head_image else MAX_RESPONSE_BYTES


def _check_types(response: dict[str, Any]) -> None:
    from airflow_provider_tencent_ocr.errors import ErrorKind, TencentCloudAPIError

    bad = [key for key in (*RESPONSE_FIELDS, "Photo", "RequestId") if not isinstance(response.get(key), str | None)]
    warn = response.get("WarnCardInfos")
    if warn is not None and not (isinstance(warn, list) and all(type(code) is int for code in warn)):
        bad.append("WarnCardInfos")
    if bad:
        request_id = response.get("RequestId")
        raise TencentCloudAPIError(
            "InvalidResponse",
            f"the answer's {', '.join(bad)} not of the documented type (string; WarnCardInfos: integers)",
            request_id if isinstance(request_id, str) else None,
            kind=ErrorKind.PER_IMAGE,
            may_have_been_billed=True,
        )


@dataclass(frozen=True)
class SingaporeIdCardResult:
    """All 15 response fields of one recognition, typed."""

    ch_name: str = ""
    en_name: str = ""
    sex: str = ""
    country_of_birth: str = ""
    birthday: str = ""
    address: str = ""
    id_number: str = ""
    race: str = ""
    nric_code: str = ""
    post_code: str = ""
    date_of_expiration: str = ""
    date_of_issue: str = ""
    photo: bytes | None = field(default=None, repr=False)
    warn_codes: tuple[int, ...] = ()
    request_id: str = ""

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return f"SingaporeIdCardResult(request_id={self.request_id!r}, warn_codes={list(self.warn_codes)!r})"

    __str__ = __repr__

    @classmethod
    def from_response(cls, response: dict[str, Any]) -> SingaporeIdCardResult:
        """Build from the ``Response`` object of a successful answer.

        A field not of its documented type raises ``InvalidResponse``, a per-image error: the call
        was made (and may have been billed), so it is not retried. The message names the fields,
        never their values.
        """
        _check_types(response)
        photo_b64 = response.get("Photo") or ""
        try:
            photo = base64.b64decode(photo_b64, validate=True) if photo_b64 else None
        except (binascii.Error, ValueError):
            photo = None
        values = {column: str(response.get(key) or "") for key, column in RESPONSE_FIELDS.items()}
        return cls(
            **values,
            photo=photo,
            warn_codes=tuple(int(code) for code in response.get("WarnCardInfos") or ()),
            request_id=str(response.get("RequestId") or ""),
        )

    def to_response(self) -> dict[str, Any]:
        """The service's JSON shape (used by the emulator and the result cache)."""
        response: dict[str, Any] = {key: getattr(self, column) for key, column in RESPONSE_FIELDS.items()}
        response["Photo"] = base64.b64encode(self.photo).decode() if self.photo else ""
        response["WarnCardInfos"] = list(self.warn_codes)
        response["RequestId"] = self.request_id
        return response

    def warn_flags(self) -> dict[str, bool]:
        """One boolean per documented warn code."""
        return {column: code in self.warn_codes for code, column in WARN_CODES.items()}


def result_columns(result: SingaporeIdCardResult) -> dict[str, Any]:
    """The output columns one successful recognition fills (raw fields, portrait, warn codes)."""
    columns: dict[str, Any] = {column: getattr(result, column) for column in RESPONSE_FIELDS.values()}
    columns["photo"] = result.photo
    columns["warn_codes"] = list(result.warn_codes)
    columns.update(result.warn_flags())
    return columns
