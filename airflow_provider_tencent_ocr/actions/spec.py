"""ActionSpec: everything the provider knows about one ID-document OCR action, in one declaration.

One spec per API action says what to send (the image parameters, the portrait switch), what comes
back (text fields, image fields that are never output, warn codes), how fast it may be called,
which response fields are personal data of which kind, and how its fields fill the common columns
of the id-document table. Facts the vendor's reference does not state are marked as assumptions
(``rps_stated=False``, ``date_order``) and can be overridden with :func:`dataclasses.replace`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["ActionSpec", "CommonColumns", "DateOrder", "PiiKind"]

SERVICE = "ocr"
VERSION = "2018-11-19"
#: The largest Base64 image most actions take (the reference: "no larger than 7M after Base64 encoding").
MAX_IMAGE_BASE64_BYTES = 7 * 1024 * 1024
#: An answer without a portrait is a few kB.
MAX_RESPONSE_BYTES = 1024 * 1024

#: Regions in the Chinese mainland, where every action takes ``ImageUrl``.
MAINLAND_REGIONS = frozenset(
    {
        "ap-beijing",
        "ap-shanghai",
        "ap-guangzhou",
        "ap-chengdu",
        "ap-chongqing",
        "ap-nanjing",
        "ap-beijing-fsi",
        "ap-shanghai-fsi",
        "ap-shenzhen-fsi",
    }
)

DateOrder = Literal["DMY", "MDY"]
#: Personal-data kinds (see docs/personal-data.md); None means not personal.
PiiKind = Literal["name", "identifier", "address", "birth_date", "date", "postcode", "mrz", "portrait"]


@dataclass(frozen=True)
class CommonColumns:
    """The typed columns every ID document fills, as far as it can; None where it has no such fact."""

    document_number: str | None = None
    full_name: str | None = None
    birth_date: dt.date | None = None
    sex: Literal["M", "F"] | None = None
    address: str | None = None
    nationality: str | None = None
    expiry_date: dt.date | None = None
    number_valid: bool | None = None
    number_consistent: bool | None = None

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return f"CommonColumns(number_valid={self.number_valid!r}, number_consistent={self.number_consistent!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class ActionSpec:
    """One OCR action: request, response, limits, personal-data kinds and the common-column mapping.

    Response field names are the API's. ``text_fields`` are strings (with ``value_objects`` each is
    an object ``{"Value": ...}``; a dotted name such as ``PassportRecognizeInfos.Surname`` is a
    string inside a nested object); ``number_fields`` / ``flag_fields`` are integers / booleans,
    kept as text in the ``fields`` map; ``image_fields`` are Base64 images, never output as text
    (the first is the portrait). ``warn_field`` is ``WarnCardInfos`` where the action has warn codes.
    """

    name: str
    documents: str
    country: str
    default_rps: float
    rps_stated: bool
    image_url_supported: bool
    text_fields: tuple[str, ...]
    image_fields: tuple[str, ...]
    #: API field -> personal-data kind; fields not listed are completed as not personal (None).
    field_kinds: Mapping[str, PiiKind | None]
    head_image_param: str | None
    mapper: Callable[[ActionSpec, Mapping[str, str]], CommonColumns] = field(repr=False, compare=False)
    number_fields: tuple[str, ...] = ()
    flag_fields: tuple[str, ...] = ()
    value_objects: bool = False
    warn_field: str | None = "WarnCardInfos"
    #: Day or month first for numeric dates the reference leaves unstated (override per action).
    date_order: DateOrder = "DMY"
    max_image_base64_bytes: int = MAX_IMAGE_BASE64_BYTES
    #: Image formats the action takes (by their first bytes); others are refused before any call.
    image_formats: frozenset[str] = frozenset({"PNG", "JPEG"})
    #: Where the stated limit or the date format comes from, or what was assumed (for the docs).
    notes: str = ""

    def __post_init__(self) -> None:
        if self.default_rps <= 0:
            raise ValueError(f"{self.name}: default_rps must be positive, got {self.default_rps}")
        unknown = set(self.field_kinds) - set(self.output_fields) - set(self.image_fields)
        if unknown:
            raise ValueError(f"{self.name}: field_kinds names fields it does not return: {sorted(unknown)}")
        # Complete the declaration: a field left out is not personal (a protected mode masks any
        # field missing from the kinds, so every field must be listed); every image is a portrait.
        complete: dict[str, PiiKind | None] = {name: None for name in self.output_fields}
        complete.update({name: "portrait" for name in self.image_fields})
        complete.update(self.field_kinds)
        object.__setattr__(self, "field_kinds", MappingProxyType(complete))

    def common(self, fields: Mapping[str, str]) -> CommonColumns:
        """The common typed columns from this action's ``fields`` map (see docs/documents.md)."""
        return self.mapper(self, fields)

    @property
    def warn_supported(self) -> bool:
        """Whether the answer carries warn codes at all (the Philippine actions have none)."""
        return self.warn_field is not None

    @property
    def output_fields(self) -> tuple[str, ...]:
        """Every name the ``fields`` map may hold, in response order."""
        return (*self.text_fields, *self.number_fields, *self.flag_fields)

    def accepts_image_url(self, region: str) -> bool:
        """Whether ``ImageUrl`` may be sent in ``region`` (some actions take it only in the mainland)."""
        return self.image_url_supported or region in MAINLAND_REGIONS

    def kind(self, field_name: str) -> PiiKind | None:
        """The personal-data kind of a response field (None: not personal)."""
        return self.field_kinds.get(field_name)

    def build_request(
        self, *, image_base64: str | None = None, image_url: str | None = None, return_head_image: bool = False
    ) -> dict[str, Any]:
        """The JSON body; ``ImageUrl`` wins when both are given, as on the service."""
        params: dict[str, Any] = {}
        if image_url:
            params["ImageUrl"] = image_url
        elif image_base64:
            params["ImageBase64"] = image_base64
        if return_head_image and self.head_image_param:
            params[self.head_image_param] = True
        return params

    def max_response_bytes(self, *, return_head_image: bool) -> int:
        """The largest answer read: fields take a few kB, portraits at most the image sent, each."""
        if not return_head_image or not self.image_fields:
            return MAX_RESPONSE_BYTES
        return MAX_RESPONSE_BYTES + len(self.image_fields) * self.max_image_base64_bytes
