"""RecognizeThaiIDCardOCR: the Thai national identity card, with its mod-11 check digit."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_tencent_ocr.actions.mapping import first, joined
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns
from airflow_provider_tencent_ocr.rows.checkdigits import thai_id_is_valid
from airflow_provider_tencent_ocr.rows.document_values import parse_document_date

ACTION = "RecognizeThaiIDCardOCR"
#: The first digit of a Thai ID is the holder's registration type; 1-5 are Thai nationals.
THAI_NATIONAL_TYPES = frozenset("12345")


def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    number = first(card, "ID")
    digits = (number or "").replace(" ", "").replace("-", "")
    birth = parse_document_date(card.get("EnBirthday"), spec.date_order) or parse_document_date(
        card.get("Birthday"), spec.date_order
    )
    expiry = parse_document_date(card.get("EnExpirationDate"), spec.date_order) or parse_document_date(
        card.get("ExpirationDate"), spec.date_order
    )
    return CommonColumns(
        document_number=number,
        full_name=joined(card, "EnFirstName", "EnLastName") or first(card, "ThaiName"),
        birth_date=birth,
        sex=None,  # the card prints no sex field
        address=first(card, "Address"),
        nationality="THA" if digits[:1] in THAI_NATIONAL_TYPES and len(digits) == 13 else None,
        expiry_date=expiry,  # "LIFELONG" cards have none
        number_valid=thai_id_is_valid(number),
        number_consistent=None,  # the Thai ID encodes no birth date or sex
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Thai national identity card (front; back with the laser ID)",
    country="TH",
    default_rps=10.0,
    rps_stated=True,
    image_url_supported=True,
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
    number_fields=("CardCount",),
    flag_fields=("IsComplete",),
    image_fields=("PortraitImage",),
    field_kinds={
        "ID": "identifier",
        "ThaiName": "name",
        "EnFirstName": "name",
        "EnLastName": "name",
        "ThaiFirstName": "name",
        "ThaiLastName": "name",
        "IssueDate": "date",
        "ExpirationDate": "date",
        "EnIssueDate": "date",
        "EnExpirationDate": "date",
        "Birthday": "birth_date",
        "EnBirthday": "birth_date",
        "SerialNumber": "identifier",
        "Address": "address",
        "LaserID": "identifier",
        "PortraitImage": "portrait",
    },
    head_image_param="CropPortrait",
    mapper=_common,
    image_formats=frozenset({"PNG", "JPEG", "BMP"}),
    notes=(
        "10/s stated in the reference. English dates (8 Jun. 1985) are read first; Thai dates with "
        "Buddhist-era years are converted (BE - 543) when the English one is missing."
    ),
)
