"""The five Philippine ID actions: voter ID, driver's licence, UMID, SSS ID and TIN ID.

Their answers wrap every field in an object ``{"Value": ..., "Polygon": [...]}``
(``value_objects``); the ``fields`` map holds the value. They return no warn codes. None of these
numbers has a published check digit, so ``number_valid`` stays null. Philippine documents print
numeric dates month first (``01/15/1990``) or as ``1990/01/15``: ``date_order`` is ``MDY``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from airflow_provider_tencent_ocr.actions.mapping import first, joined
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns, PiiKind
from airflow_provider_tencent_ocr.rows.document_values import nationality_code, parse_document_date, parse_sex

VOTER_ID = "RecognizePhilippinesVoteIDOCR"
DRIVING_LICENSE = "RecognizePhilippinesDrivingLicenseOCR"
UMID = "RecognizePhilippinesUMIDOCR"
SSS_ID = "RecognizePhilippinesSssIDOCR"
TIN_ID = "RecognizePhilippinesTinIDOCR"

_NAME_KINDS: dict[str, PiiKind] = {
    name: "name" for name in ("Name", "FullName", "FirstName", "GivenName", "MiddleName", "LastName", "Surname")
}


def _columns(
    spec: ActionSpec,
    card: Mapping[str, str],
    *,
    number: str,
    given: str,
    family: str,
    nationality: str | None = None,
    expiry: str | None = None,
) -> CommonColumns:
    return CommonColumns(
        document_number=first(card, number),
        full_name=first(card, "Name", "FullName") or joined(card, given, "MiddleName", family),
        birth_date=parse_document_date(card.get("Birthday"), spec.date_order),
        sex=parse_sex(card.get("Sex")),
        address=first(card, "Address"),
        nationality=nationality_code(card.get(nationality)) if nationality else None,
        expiry_date=parse_document_date(card.get(expiry), spec.date_order) if expiry else None,
        number_valid=None,  # no published check digit
        number_consistent=None,  # the number encodes no birth date or sex
    )


def _voter(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return _columns(spec, card, number="VIN", given="FirstName", family="LastName", nationality="Citizenship")


def _driving(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return _columns(
        spec,
        card,
        number="LicenseNo",
        given="FirstName",
        family="LastName",
        nationality="Nationality",
        expiry="ExpiresDate",
    )


def _umid(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return _columns(spec, card, number="CRN", given="GivenName", family="Surname")


def _sss(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return _columns(spec, card, number="LicenseNumber", given="GivenName", family="Surname")


def _tin(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return _columns(spec, card, number="LicenseNumber", given="GivenName", family="LastName")


def _spec(
    name: str,
    documents: str,
    text_fields: tuple[str, ...],
    kinds: Mapping[str, PiiKind],
    mapper: Callable[[ActionSpec, Mapping[str, str]], CommonColumns],
    *,
    default_rps: float = 5.0,
    rps_stated: bool = False,
) -> ActionSpec:
    assumed = "" if rps_stated else "No limit stated: 5/s assumed. "
    return ActionSpec(
        name=name,
        documents=documents,
        country="PH",
        default_rps=default_rps,
        rps_stated=rps_stated,
        image_url_supported=True,
        text_fields=text_fields,
        image_fields=("HeadPortrait",),
        field_kinds={
            **{f: k for f, k in _NAME_KINDS.items() if f in text_fields},
            **kinds,
            "HeadPortrait": "portrait",
        },
        head_image_param="ReturnHeadImage",
        mapper=mapper,
        value_objects=True,
        warn_field=None,
        date_order="MDY",
        notes=assumed + "Numeric dates are read month first (assumed; the reference states no format).",
    )


VOTER_ID_SPEC = _spec(
    VOTER_ID,
    "Philippine voter's ID card (COMELEC)",
    (
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
    {"VIN": "identifier", "Birthday": "birth_date", "Address": "address", "PrecinctNo": "address"},
    _voter,
    default_rps=20.0,
    rps_stated=True,
)
DRIVING_LICENSE_SPEC = _spec(
    DRIVING_LICENSE,
    "Philippine driver's licence (LTO)",
    (
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
    {"LicenseNo": "identifier", "Birthday": "birth_date", "Address": "address", "ExpiresDate": "date"},
    _driving,
)
UMID_SPEC = _spec(
    UMID,
    "Philippine Unified Multi-Purpose ID (UMID)",
    ("Surname", "MiddleName", "GivenName", "Address", "Birthday", "CRN", "Sex"),
    {"CRN": "identifier", "Birthday": "birth_date", "Address": "address"},
    _umid,
)
SSS_ID_SPEC = _spec(
    SSS_ID,
    "Philippine Social Security System (SSS) ID / UMID card",
    ("LicenseNumber", "FullName", "Birthday", "GivenName", "Surname", "MiddleName"),
    {"LicenseNumber": "identifier", "Birthday": "birth_date"},
    _sss,
)
TIN_ID_SPEC = _spec(
    TIN_ID,
    "Philippine Taxpayer Identification Number (TIN) ID card (BIR)",
    (
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
    {"LicenseNumber": "identifier", "Birthday": "birth_date", "Address": "address", "IssueDate": "date"},
    _tin,
)

SPECS: tuple[ActionSpec, ...] = (VOTER_ID_SPEC, DRIVING_LICENSE_SPEC, UMID_SPEC, SSS_ID_SPEC, TIN_ID_SPEC)
