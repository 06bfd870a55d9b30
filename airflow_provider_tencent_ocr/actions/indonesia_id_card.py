"""RecognizeIndonesiaIDCardOCR: the Indonesian KTP, whose NIK encodes birth date and sex.

The NIK ``PPKKCC DDMMYY SSSS`` (40 added to the day for women) is checked for that structure,
fills birth date and sex when they are not printed, and is compared with them when they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from airflow_provider_tencent_ocr.actions.mapping import first, from_number, joined
from airflow_provider_tencent_ocr.actions.spec import ActionSpec, CommonColumns
from airflow_provider_tencent_ocr.rows.document_values import nationality_code, parse_document_date, parse_sex
from airflow_provider_tencent_ocr.rows.id_numbers import decode_nik, nik_is_valid

ACTION = "RecognizeIndonesiaIDCardOCR"
# "JAKARTA, 17-08-1990": the place of birth, then the date.
_PLACE_AND_DATE = re.compile(r"^(?:.*?[,\s])?\s*(\d{1,2}[-/.\s]\d{1,2}[-/.\s]\d{4})\s*$")


def birth_date_text(place_and_date: str | None) -> str | None:
    """The date part of ``TempatTglLahir`` (place and date of birth)."""
    if not place_and_date:
        return None
    match = _PLACE_AND_DATE.match(place_and_date.strip())
    return match.group(1) if match else None


def _common(spec: ActionSpec, card: Mapping[str, str]) -> CommonColumns:
    number = first(card, "NIK")
    birth_date, sex, consistent = from_number(
        decode_nik(number),
        parse_document_date(birth_date_text(card.get("TempatTglLahir")), spec.date_order),
        parse_sex(card.get("JenisKelamin")),
    )
    rt_rw = first(card, "RTRW")
    address = joined(
        {**card, "RTRW": f"RT/RW {rt_rw}" if rt_rw else ""},
        "Alamat",
        "RTRW",
        "KelDesa",
        "Kecamatan",
        "Kota",
        "Provinsi",
        sep=", ",
    )
    return CommonColumns(
        document_number=number,
        full_name=first(card, "Nama"),
        birth_date=birth_date,
        sex=sex,
        address=address,
        nationality=nationality_code(card.get("KewargaNegaraan")),
        expiry_date=parse_document_date(card.get("BerlakuHingga"), spec.date_order),  # "SEUMUR HIDUP": none
        number_valid=nik_is_valid(number),
        number_consistent=consistent,
    )


SPEC = ActionSpec(
    name=ACTION,
    documents="Indonesian identity card (KTP / e-KTP)",
    country="ID",
    default_rps=5.0,
    rps_stated=True,
    image_url_supported=True,
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
    field_kinds={
        "NIK": "identifier",
        "Nama": "name",
        "TempatTglLahir": "birth_date",
        "Alamat": "address",
        "RTRW": "address",
        "KelDesa": "address",
        "Kecamatan": "address",
        "Kota": "address",
        "BerlakuHingga": "date",
        "IssuedDate": "date",
        "Photo": "portrait",
    },
    head_image_param="ReturnHeadImage",
    mapper=_common,
    max_image_base64_bytes=2 * 1024 * 1024,
    notes=(
        "5/s stated in the reference. Images up to 2 MB after Base64 (stated). Dates are day first "
        "(17-08-1990), as the KTP prints them. Warn codes -8101/-8102 (format / consistency checks) "
        "are kept in warn_codes; they have no boolean column."
    ),
)
