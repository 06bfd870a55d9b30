"""MLIDPassportOCR: machine-readable passports, checked by their MRZ (ICAO 9303 TD3) check digits.

The MRZ encodes the document number, birth date, sex and expiry: all four check digits and the
composite give ``number_valid``, and the MRZ is compared with the printed visual zone
(``PassportRecognizeInfos``) for ``number_consistent``.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_tencent_ocr.actions.mapping import first
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns, PiiKind
from airflow_provider_tencent_ocr.rows.checkdigits import MrzTd3, mrz_date, parse_mrz_td3
from airflow_provider_tencent_ocr.rows.document_values import nationality_code, parse_document_date, parse_sex

ACTION = "MLIDPassportOCR"
VISUAL = "PassportRecognizeInfos"
_VISUAL_FIELDS = (
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
_VISUAL_KINDS: dict[str, PiiKind] = {
    "PassportID": "identifier",
    "Surname": "name",
    "GivenName": "name",
    "Name": "name",
    "MiddleName": "name",
    "FatherName": "name",
    "MotherName": "name",
    "Postname": "name",
    "Signature": "name",
    "DateOfBirth": "birth_date",
    "DateOfIssuance": "date",
    "DateOfExpiration": "date",
    "BirthPlace": "address",
}


def _consistent(mrz: MrzTd3 | None, card: Mapping[str, str], spec: ActionSpec) -> bool | None:
    """Whether the printed visual zone agrees with the MRZ on number, birth date, sex and expiry."""
    if mrz is None:
        return None
    checks: list[bool] = []
    printed_number = first(card, f"{VISUAL}.PassportID")
    if printed_number:
        checks.append(printed_number.replace(" ", "").upper() == mrz.document_number)
    printed_birth = parse_document_date(card.get(f"{VISUAL}.DateOfBirth"), spec.date_order)
    if printed_birth:
        checks.append(printed_birth.strftime("%y%m%d") == mrz.birth_yymmdd)
    printed_sex = parse_sex(card.get(f"{VISUAL}.Sex"))
    if printed_sex and mrz.sex:
        checks.append(printed_sex == mrz.sex)
    printed_expiry = parse_document_date(card.get(f"{VISUAL}.DateOfExpiration"), spec.date_order)
    if printed_expiry:
        checks.append(printed_expiry.strftime("%y%m%d") == mrz.expiry_yymmdd)
    return all(checks) if checks else None


def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    mrz = parse_mrz_td3(card.get("CodeSet"), card.get("CodeCrc"))
    # The visual zone first, then the MRZ-parsed fields (any date form, or the MRZ's own YYMMDD).
    birth = (
        parse_document_date(card.get(f"{VISUAL}.DateOfBirth"), spec.date_order)
        or parse_document_date(card.get("DateOfBirth"), spec.date_order)
        or mrz_date(card.get("DateOfBirth"), future=False)
    )
    expiry = (
        parse_document_date(card.get(f"{VISUAL}.DateOfExpiration"), spec.date_order)
        or parse_document_date(card.get("DateOfExpiration"), spec.date_order)
        or mrz_date(card.get("DateOfExpiration"), future=True)
    )
    return CommonColumns(
        document_number=first(card, "ID", f"{VISUAL}.PassportID") or (mrz.document_number if mrz else None),
        full_name=first(card, "Name", f"{VISUAL}.Name") or (mrz.full_name if mrz else None) or None,
        birth_date=birth or (mrz.birth_date if mrz else None),
        sex=parse_sex(card.get(f"{VISUAL}.Sex")) or parse_sex(card.get("Sex")) or (mrz.sex if mrz else None),
        address=None,  # a passport prints no address
        nationality=nationality_code(card.get("Nationality")) or (nationality_code(mrz.nationality) if mrz else None),
        expiry_date=expiry or (mrz.expiry_date if mrz else None),
        number_valid=mrz.valid if mrz else None,
        number_consistent=_consistent(mrz, card, spec),
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Machine-readable passports of any country (ICAO 9303 TD3 data page)",
    country="",
    default_rps=5.0,
    rps_stated=False,
    image_url_supported=False,
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
        *(f"{VISUAL}.{name}" for name in _VISUAL_FIELDS),
    ),
    number_fields=("CardCount",),
    flag_fields=("IsComplete",),
    image_fields=("Image",),
    field_kinds={
        "ID": "identifier",
        "Name": "name",
        "Surname": "name",
        "GivenName": "name",
        "DateOfBirth": "birth_date",
        "DateOfExpiration": "date",
        "CodeSet": "mrz",
        "CodeCrc": "mrz",
        "Image": "portrait",
        **{f"{VISUAL}.{name}": kind for name, kind in _VISUAL_KINDS.items()},
    },
    head_image_param="RetImage",
    mapper=_common,
    image_formats=frozenset({"PNG", "JPEG", "BMP"}),
    notes=(
        "No limit stated: 5/s assumed. ImageUrl is not supported outside the Chinese mainland. The "
        "MRZ-parsed dates' format is not stated: YYMMDD, ISO and day-first forms are read."
    ),
)
