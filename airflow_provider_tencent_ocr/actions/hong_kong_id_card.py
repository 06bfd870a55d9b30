"""HKIDCardOCR: the Hong Kong identity card (2003 and 2018 generations), with its check digit."""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_tencent_ocr.actions.mapping import first
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns
from airflow_provider_tencent_ocr.rows.checkdigits import hkid_is_valid
from airflow_provider_tencent_ocr.rows.document_values import parse_document_date, parse_sex

ACTION = "HKIDCardOCR"


def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    return CommonColumns(
        document_number=first(card, "IdNum"),
        full_name=first(card, "EnName", "CnName"),
        birth_date=parse_document_date(card.get("Birthday"), spec.date_order),
        sex=parse_sex(card.get("Sex")),
        address=None,  # the card prints no address
        nationality=None,  # a residence card: it states no nationality
        expiry_date=None,  # the card prints no expiry date
        number_valid=hkid_is_valid(card.get("IdNum")),
        number_consistent=None,  # the HKID number encodes no birth date or sex
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Hong Kong identity card (permanent and non-permanent; 2003 and 2018 generations)",
    country="HK",
    default_rps=5.0,
    rps_stated=False,
    image_url_supported=False,
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
    number_fields=("Permanent", "FakeDetectResult"),
    image_fields=("HeadImage", "SmallHeadImage"),
    field_kinds={
        "CnName": "name",
        "EnName": "name",
        "TelexCode": "name",  # the Chinese name, as telegraph codes
        "Birthday": "birth_date",
        "IdNum": "identifier",
        "FirstIssueDate": "date",
        "CurrentIssueDate": "date",
        "WindowEmbeddedText": "identifier",  # the see-through window repeats the holder's data
        "HeadImage": "portrait",
        "SmallHeadImage": "portrait",
    },
    head_image_param="ReturnHeadImage",
    mapper=_common,
    notes=(
        "No limit stated: 5/s assumed. ImageUrl is not supported outside the Chinese mainland. "
        "Birth dates are day first (DD-MM-YYYY on the card)."
    ),
)
