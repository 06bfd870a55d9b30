"""MLIDCardOCR: Malaysian identity cards (MyKad, MyPR, MyTentera, MyKAS, POLIS, i-Kad, MyKid).

The MyKad number ``YYMMDD-PB-###G`` encodes the birth date and sex: the number is checked for
that structure, fills birth date and sex when they are not printed, and is compared with them
when they are (``number_consistent``).
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow_provider_tencent_ocr.actions.mapping import first, from_number
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns
from airflow_provider_tencent_ocr.rows.document_values import parse_document_date, parse_sex
from airflow_provider_tencent_ocr.rows.id_numbers import decode_mykad, mykad_is_valid

ACTION = "MLIDCardOCR"
#: Card types whose number is a 12-digit national registration number (YYMMDD-PB-###G).
NRIC_TYPES = frozenset({"MYKAD", "MYPR", "MYTENTERA", "MYKAS", "MYKID"})
#: Card types held only by Malaysian citizens.
CITIZEN_TYPES = frozenset({"MYKAD", "MYTENTERA", "MYKID"})


def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    card_type = (card.get("Type") or "").strip().upper()
    number = first(card, "ID")
    has_nric = card_type in NRIC_TYPES or not card_type  # an unnamed type is judged by its number
    decoded = decode_mykad(number) if has_nric else None
    birth_date, sex, consistent = from_number(
        decoded, parse_document_date(card.get("Birthday"), spec.date_order), parse_sex(card.get("Sex"))
    )
    return CommonColumns(
        document_number=number,
        full_name=first(card, "Name"),
        birth_date=birth_date,
        sex=sex,
        address=first(card, "Address"),
        nationality="MYS" if card_type in CITIZEN_TYPES else None,
        expiry_date=None,  # Malaysian identity cards print no expiry date
        number_valid=mykad_is_valid(number) if has_nric else None,
        number_consistent=consistent,
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Malaysian identity cards: MyKad, MyPR, MyTentera, MyKAS, POLIS, i-Kad, MyKid",
    country="MY",
    default_rps=5.0,
    rps_stated=False,
    image_url_supported=False,
    text_fields=("ID", "Name", "Address", "Sex", "Type", "Birthday", "MyKadNumber"),
    image_fields=("Image",),
    field_kinds={
        "ID": "identifier",
        "Name": "name",
        "Address": "address",
        "Birthday": "birth_date",
        "MyKadNumber": "identifier",
        "Image": "portrait",
    },
    head_image_param="RetImage",
    mapper=_common,
    notes=(
        "No limit stated: 5/s assumed (the lowest limit the reference states for a card action). "
        "ImageUrl is not available outside the Chinese mainland. Birthday is returned only for MyKad "
        "and i-Kad; its format is not stated (day first assumed)."
    ),
)
