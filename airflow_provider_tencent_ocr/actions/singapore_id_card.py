"""RecognizeSingaporeIDCardOCR: request, response fields, and the meaning of its warn codes.

Warn codes are decoded per action: the same numbers mean other things in other OCR actions.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal

from airflow_provider_tencent_ocr.actions.mapping import first
from airflow_provider_tencent_ocr.actions.spec import (
    MAX_IMAGE_BASE64_BYTES,
    MAX_RESPONSE_BYTES,
    SERVICE,  # noqa: F401 - sg.SERVICE / sg.VERSION: the service every OCR action shares, named once in spec.py
    VERSION,  # noqa: F401
    ActionSpec,
    CommonColumns,
)
from airflow_provider_tencent_ocr.rows.columns import ARROW_TYPES, arrow_fields_of, column
from airflow_provider_tencent_ocr.rows.document_values import parse_document_date, parse_sex
from airflow_provider_tencent_ocr.rows.validation import id_checksum_valid

ACTION = "RecognizeSingaporeIDCardOCR"

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
    from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError

    bad = [key for key in (*RESPONSE_FIELDS, "Photo", "RequestId") if not isinstance(response.get(key), str | None)]
    warn = response.get("WarnCardInfos")
    if warn is not None and not (
        isinstance(warn, list) and all(type(code) is int and _INT32_MIN <= code <= _INT32_MAX for code in warn)
    ):
        bad.append("WarnCardInfos")
    request_id = response.get("RequestId")
    request_id = request_id if isinstance(request_id, str) else None
    if bad:
        raise TencentCloudAPIError(
            "InvalidResponse",
            f"the answer's {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not of the documented type "
            "(string; WarnCardInfos: 32-bit integers)",
            request_id,
            kind=ErrorKind.PER_IMAGE,
            may_have_been_billed=True,
        )
    if not any(key in response for key in RESPONSE_FIELDS):
        # Another action's shape, or a stub answering {"Response": {"RequestId": ...}}: not an empty card.
        raise TencentCloudAPIError(
            "InvalidResponse",
            f"the answer has none of the {ACTION} fields (another action's answer, or a proxy's stub?)",
            request_id,
            kind=ErrorKind.PER_IMAGE,
            may_have_been_billed=True,
        )


_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
# A lone surrogate (valid JSON: "\ud800") is not text any file can hold; it becomes U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: Any) -> str:
    """A response string as writable text: a lone surrogate (never a valid character) becomes U+FFFD."""
    text = str(value or "")
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


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
        values = {column: _text(response.get(key)) for key, column in RESPONSE_FIELDS.items()}
        return cls(
            **values,
            photo=photo,
            warn_codes=tuple(int(code) for code in response.get("WarnCardInfos") or ()),
            request_id=_text(response.get("RequestId")),
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


# -- the output row ------------------------------------------------------------------------------
# Columns are declared with rows/columns.py (Arrow types by name: no pyarrow at import time).
_ARROW_TYPES = ARROW_TYPES
_column = column


@dataclass(frozen=True, slots=True)
class SingaporeIdCardRow:
    """One output row, and the single owner of the output columns: their order, Arrow types and roles.

    Field order is file order. The Parquet schema, the columns an error row keeps and the
    personal-data columns are all derived from these fields. Typed columns (dates, sex, ID type
    and check letter) are computed from the raw strings whenever a row is built, so every way of
    driving the runner writes them. Carried manifest columns are not part of the row: they are
    appended when the row is handed to the writer.
    """

    record_id: str | None = _column("string", kept_on_error=True)
    image_uri: str | None = _column("string", kept_on_error=True)
    image_sha256: str | None = _column("string", kept_on_error=True)
    status: Literal["ok", "error"] = _column("string", default="error")
    error_code: str | None = _column("string")
    error_message: str | None = _column("string")
    request_id: str | None = _column("string", kept_on_error=True)
    attempts: int = _column("int32", kept_on_error=True, default=0)
    # The response fields, raw (RESPONSE_FIELDS order).
    ch_name: str | None = _column("string", pii="name")
    en_name: str | None = _column("string", pii="name")
    sex: str | None = _column("string")
    country_of_birth: str | None = _column("string")
    birthday: str | None = _column("string", pii="birth_date")
    address: str | None = _column("string", pii="address")
    id_number: str | None = _column("string", pii="identifier")
    race: str | None = _column("string")
    nric_code: str | None = _column("string", pii="identifier")
    post_code: str | None = _column("string", pii="postcode")
    date_of_expiration: str | None = _column("string", pii="date")
    date_of_issue: str | None = _column("string", pii="date")
    photo: bytes | None = _column("binary", pii="portrait")
    warn_codes: tuple[int, ...] | None = _column("list<int32>")
    # One flag per documented warn code (WARN_CODES order); null on error rows.
    warn_covered: bool | None = _column("bool")
    warn_photocopy: bool | None = _column("bool")
    warn_photographed: bool | None = _column("bool")
    warn_edited: bool | None = _column("bool")
    warn_reflective: bool | None = _column("bool")
    warn_blurry: bool | None = _column("bool")
    warn_not_enabled: bool | None = _column("bool")
    ocr_at: datetime | None = _column("timestamp[us, UTC]", kept_on_error=True)
    # Typed twins of the raw strings (see validation.py).
    birth_date: date | None = _column("date32", pii="birth_date")
    date_of_issue_date: date | None = _column("date32", pii="date")
    date_of_expiration_date: date | None = _column("date32", pii="date")
    sex_normalised: str | None = _column("string")
    id_type: str | None = _column("string")
    id_checksum_valid: bool | None = _column("bool")
    # Where an exported portrait went (photo_output="files").
    photo_path: str | None = _column("string")

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return (
            f"SingaporeIdCardRow(status={self.status!r}, error_code={self.error_code!r}, "
            f"request_id={self.request_id!r}, attempts={self.attempts!r})"
        )

    __str__ = __repr__

    def __getitem__(self, column: str) -> Any:
        """Read a column by name (``row["status"]``), as from the dict the writer receives."""
        if column not in _COLUMN_SET:
            raise KeyError(column)
        return getattr(self, column)

    @classmethod
    def build(
        cls,
        *,
        record_id: str | None,
        image_uri: str | None,
        image_sha256: str | None = None,
        result: SingaporeIdCardResult | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
        attempts: int = 0,
        ocr_at: datetime | None = None,
    ) -> SingaporeIdCardRow:
        """The row of one manifest row: ``ok`` with every result column when ``result`` is given, else ``error``."""
        identity: dict[str, Any] = {
            "record_id": record_id,
            "image_uri": image_uri,
            "image_sha256": image_sha256,
            "request_id": request_id,
            "attempts": attempts,
            "ocr_at": ocr_at,
        }
        if result is None:
            return cls(**identity, status="error", error_code=error_code, error_message=error_message)
        from airflow_provider_tencent_ocr.rows.validation import typed_columns

        raw = {column: getattr(result, column) for column in RESPONSE_FIELDS.values()}
        columns: dict[str, Any] = {**raw, **result.warn_flags(), **typed_columns(raw)}
        return cls(**identity, status="ok", photo=result.photo, warn_codes=tuple(result.warn_codes), **columns)

    def as_error(self, error_code: str, error_message: str) -> SingaporeIdCardRow:
        """This row turned into an error row: only its identity columns stay (``KEPT_ON_ERROR``)."""
        kept = {column: getattr(self, column) for column in KEPT_ON_ERROR}
        return type(self)(**kept, status="error", error_code=error_code, error_message=error_message)

    def to_dict(self) -> dict[str, Any]:
        """Column name -> value in file order, as the Parquet writer takes it."""
        out = {column: getattr(self, column) for column in OUTPUT_COLUMNS}
        if self.warn_codes is not None:
            out["warn_codes"] = list(self.warn_codes)
        return out


#: The row's columns in file order; carried manifest columns follow them in the output.
OUTPUT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SingaporeIdCardRow))
_COLUMN_SET = frozenset(OUTPUT_COLUMNS)
#: What an error row keeps when a later step fails: the identity of the row, never its content.
KEPT_ON_ERROR: frozenset[str] = frozenset(f.name for f in fields(SingaporeIdCardRow) if f.metadata["kept_on_error"])
#: The personal-data columns (those with a kind) that ``pii="mask"`` / ``"hash"`` transform (see ``rows/pii.py``).
PII_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(SingaporeIdCardRow) if f.metadata["pii"])


def arrow_fields() -> list[Any]:
    """The row's columns as ``pyarrow.Field`` objects, in file order (pyarrow imported here, lazily)."""
    return arrow_fields_of(SingaporeIdCardRow)


# -- the action's declaration for the id-document table --------------------------------------------
def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return CommonColumns(
        document_number=first(card, "ID"),
        full_name=first(card, "EnName", "ChName"),
        birth_date=parse_document_date(card.get("Birthday"), spec.date_order),
        sex=parse_sex(card.get("Sex")),
        address=first(card, "Address"),
        nationality=None,  # the card states no nationality (an NRIC is held by citizens and residents)
        expiry_date=parse_document_date(card.get("DateOfExpiration"), spec.date_order),
        number_valid=id_checksum_valid(card.get("ID")),
        number_consistent=None,  # the NRIC encodes no birth date or sex
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Singapore NRIC (citizens, permanent residents) and FIN cards, front and back",
    country="SG",
    default_rps=20.0,
    rps_stated=True,
    image_url_supported=True,
    text_fields=tuple(RESPONSE_FIELDS),
    image_fields=("Photo",),
    field_kinds={
        "ChName": "name",
        "EnName": "name",
        "Birthday": "birth_date",
        "Address": "address",
        "ID": "identifier",
        "NRICCode": "identifier",
        "PostCode": "postcode",
        "DateOfExpiration": "date",
        "DateOfIssue": "date",
        "Photo": "portrait",
    },
    head_image_param="ReturnHeadImage",
    mapper=_common,
    image_formats=frozenset({"PNG", "JPEG", "BMP"}),
    notes="20/s stated in the reference. Dates are day first (12/04/1988), as the card prints them.",
)
