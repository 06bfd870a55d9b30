"""The facts of every emulated action, written from the API reference alone (the emulator's own copy).

Source: the international SDK's ``tencentcloud/ocr/v20181119/models.py`` (request and response
fields, their types) and ``ocr_client.py`` (stated rate limits). The provider keeps its own copy
(``airflow_provider_tencent_ocr.actions``); ``emulator/tests/test_independence.py`` compares them.

Where the reference states no limit, the emulator enforces :data:`UNSTATED_RATE_LIMIT` requests per
second per account: the lowest limit any of these actions states (Indonesia's 5/s), so a client
paced for the emulator never overshoots the real service. The "no card" error codes are the
ones the reference's ``errorcodes.py`` names for each document (``NoMASIDCard``, ``NoHKIDCard``,
``NoPassport``); the others answer ``FailedOperation.ImageNoIdCard``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The lowest stated limit among these actions (RecognizeIndonesiaIDCardOCR, 5/s): the default
# for every action whose limit the reference does not state.
UNSTATED_RATE_LIMIT = 5.0
MB = 1024 * 1024
IMAGE_PARAMETERS = ("ImageBase64", "ImageUrl")
BACK_IMAGE_PARAMETERS = ("BackImageBase64", "BackImageUrl")
NO_ID_CARD = "FailedOperation.ImageNoIdCard"


@dataclass(frozen=True)
class ActionFacts:
    """One action as the reference describes it.

    ``text_fields``: string fields of the response. ``value_fields``: fields that are objects
    ``{"Value": str}`` (``TextDetectionResult``, the Philippine actions). ``image_fields``: Base64
    portraits, filled only when ``head_image_parameter`` is true (``image_value_object``: they are
    ``TextDetectionResult`` objects too). ``typed_fields``: non-string scalars (``int`` /
    ``bool``) with their type name. ``object_fields``: nested objects of strings
    (``PassportRecognizeInfos``), served from fixture keys ``Object.Field``.
    """

    name: str
    documents: str
    rate_limit: float
    rate_stated: bool
    text_fields: tuple[str, ...]
    value_fields: tuple[str, ...] = ()
    image_fields: tuple[str, ...] = ()
    head_image_parameter: str | None = None
    warn_codes: bool = True
    typed_fields: Mapping[str, str] = field(default_factory=dict)
    object_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    deprecated_fields: Mapping[str, Any] = field(default_factory=dict)
    back_image: bool = False
    image_url_outside_mainland: bool = True
    max_image_base64_bytes: int = 7 * MB
    no_card_code: str = NO_ID_CARD

    @property
    def request_parameters(self) -> frozenset[str]:
        names = set(IMAGE_PARAMETERS)
        if self.back_image:
            names |= set(BACK_IMAGE_PARAMETERS)
        if self.head_image_parameter:
            names.add(self.head_image_parameter)
        return frozenset(names)

    @property
    def recognised_fields(self) -> tuple[str, ...]:
        """Every field a recogniser may fill, by API name (nested ones as ``Object.Field``)."""
        nested = tuple(f"{obj}.{name}" for obj, names in self.object_fields.items() for name in names)
        return (*self.text_fields, *self.value_fields, *self.typed_fields, *nested)


_PASSPORT_VISUAL = (
    "Type",
    "IssuingCountry",
    "PassportID",
    "Surname",
    "GivenName",
    "Name",
    "Nationality",
    "DateOfBirth",
    "Sex",
    "DateOfIssuance",
    "DateOfExpiration",
    "Signature",
    "IssuePlace",
    "IssuingAuthority",
    "BirthPlace",
    "PassportFlag",
    "MiddleName",
    "FatherName",
    "MotherName",
    "Title",
    "Postname",
)

_ALL = (
    ActionFacts(
        name="RecognizeSingaporeIDCardOCR",
        documents="Singapore NRIC / FIN",
        rate_limit=20.0,
        rate_stated=True,
        text_fields=(
            "ChName",
            "EnName",
            "Sex",
            "CountryOfBirth",
            "Birthday",
            "Address",
            "ID",
            "Race",
            "NRICCode",
            "PostCode",
            "DateOfExpiration",
            "DateOfIssue",
        ),
        image_fields=("Photo",),
        head_image_parameter="ReturnHeadImage",
    ),
    ActionFacts(
        name="MLIDCardOCR",
        documents="Malaysia MyKad, MyPR, MyTentera, MyKAS, POLIS, i-Kad, MyKid",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=("ID", "Name", "Address", "Sex", "Type", "Birthday", "MyKadNumber"),
        image_fields=("Image",),
        head_image_parameter="RetImage",
        back_image=True,
        image_url_outside_mainland=False,
        no_card_code="FailedOperation.NoMASIDCard",
        deprecated_fields={"Warn": [], "AdvancedInfo": "1"},
    ),
    ActionFacts(
        name="HKIDCardOCR",
        documents="Hong Kong identity card",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(
            "CnName",
            "EnName",
            "TelexCode",
            "Sex",
            "Birthday",
            "IdNum",
            "Symbol",
            "FirstIssueDate",
            "CurrentIssueDate",
            "WindowEmbeddedText",
            "HKIDVersion",
        ),
        image_fields=("HeadImage", "SmallHeadImage"),
        head_image_parameter="ReturnHeadImage",
        typed_fields={"Permanent": "int"},
        # FakeDetectResult: 0 is "unable to judge"; the emulator never judges authenticity.
        deprecated_fields={"FakeDetectResult": 0, "WarningCode": []},
        image_url_outside_mainland=False,
        no_card_code="FailedOperation.NoHKIDCard",
    ),
    ActionFacts(
        name="RecognizeThaiIDCardOCR",
        documents="Thai identity card",
        rate_limit=10.0,
        rate_stated=True,
        text_fields=(
            "ID",
            "ThaiName",
            "EnFirstName",
            "EnLastName",
            "IssueDate",
            "ExpirationDate",
            "EnIssueDate",
            "EnExpirationDate",
            "Birthday",
            "EnBirthday",
            "Religion",
            "SerialNumber",
            "Address",
            "LaserID",
            "ThaiFirstName",
            "ThaiLastName",
        ),
        image_fields=("PortraitImage",),
        head_image_parameter="CropPortrait",
        typed_fields={"CardCount": "int", "IsComplete": "bool"},
        deprecated_fields={"AdvancedInfo": "1"},
        back_image=True,
    ),
    ActionFacts(
        name="RecognizeIndonesiaIDCardOCR",
        documents="Indonesian KTP",
        rate_limit=5.0,
        rate_stated=True,
        text_fields=(
            "NIK",
            "Nama",
            "TempatTglLahir",
            "JenisKelamin",
            "GolDarah",
            "Alamat",
            "RTRW",
            "KelDesa",
            "Kecamatan",
            "Agama",
            "StatusPerkawinan",
            "Perkerjaan",
            "KewargaNegaraan",
            "BerlakuHingga",
            "IssuedDate",
            "Provinsi",
            "Kota",
        ),
        image_fields=("Photo",),
        head_image_parameter="ReturnHeadImage",
        max_image_base64_bytes=2 * MB,
    ),
    ActionFacts(
        name="RecognizePhilippinesVoteIDOCR",
        documents="Philippine voter's ID",
        rate_limit=20.0,
        rate_stated=True,
        text_fields=(),
        value_fields=(
            "VIN",
            "LastName",
            "FirstName",
            "MiddleName",
            "Birthday",
            "CivilStatus",
            "Citizenship",
            "Address",
            "PrecinctNo",
        ),
        image_fields=("HeadPortrait",),
        head_image_parameter="ReturnHeadImage",
        warn_codes=False,
    ),
    ActionFacts(
        name="RecognizePhilippinesDrivingLicenseOCR",
        documents="Philippine driver's license",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(),
        value_fields=(
            "Name",
            "LastName",
            "FirstName",
            "MiddleName",
            "Nationality",
            "Sex",
            "Address",
            "LicenseNo",
            "ExpiresDate",
            "AgencyCode",
            "Birthday",
            "BloodType",
            "Height",
            "Weight",
            "EyeColor",
            "DLCodes",
            "Restrictions",
            "Conditions",
        ),
        image_fields=("HeadPortrait",),
        head_image_parameter="ReturnHeadImage",
        warn_codes=False,
    ),
    ActionFacts(
        name="RecognizePhilippinesUMIDOCR",
        documents="Philippine UMID",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(),
        value_fields=("Surname", "MiddleName", "GivenName", "Address", "Birthday", "CRN", "Sex"),
        image_fields=("HeadPortrait",),
        head_image_parameter="ReturnHeadImage",
        warn_codes=False,
    ),
    ActionFacts(
        name="RecognizePhilippinesSssIDOCR",
        documents="Philippine SSS ID",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(),
        value_fields=("LicenseNumber", "FullName", "Birthday", "GivenName", "Surname", "MiddleName"),
        image_fields=("HeadPortrait",),
        head_image_parameter="ReturnHeadImage",
        warn_codes=False,
    ),
    ActionFacts(
        name="RecognizePhilippinesTinIDOCR",
        documents="Philippine TIN ID",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(),
        value_fields=(
            "LicenseNumber",
            "FullName",
            "Address",
            "Birthday",
            "IssueDate",
            "GivenName",
            "LastName",
            "MiddleName",
            "RDO",
        ),
        image_fields=("HeadPortrait",),
        head_image_parameter="ReturnHeadImage",
        warn_codes=False,
    ),
    ActionFacts(
        name="MLIDPassportOCR",
        documents="passports (machine-readable zone)",
        rate_limit=UNSTATED_RATE_LIMIT,
        rate_stated=False,
        text_fields=(
            "ID",
            "Name",
            "DateOfBirth",
            "Sex",
            "DateOfExpiration",
            "IssuingCountry",
            "Nationality",
            "CodeSet",
            "CodeCrc",
            "Surname",
            "GivenName",
            "Type",
        ),
        image_fields=("Image",),
        head_image_parameter="RetImage",
        typed_fields={"CardCount": "int", "IsComplete": "bool"},
        object_fields={"PassportRecognizeInfos": _PASSPORT_VISUAL},
        deprecated_fields={"Warn": [], "AdvancedInfo": "1"},
        image_url_outside_mainland=False,
        no_card_code="FailedOperation.NoPassport",
    ),
)

ACTIONS: dict[str, ActionFacts] = {facts.name: facts for facts in _ALL}


def get(name: str) -> ActionFacts | None:
    """The facts of ``name``, or None for an action this emulator does not serve."""
    return ACTIONS.get(name)
