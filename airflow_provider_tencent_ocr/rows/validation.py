"""Analyst-ready typed values derived from the raw OCR strings.

The raw columns keep exactly what the service returned (for audit); these helpers add typed
twins so analysts do not each re-parse dates or re-implement the NRIC check letter. Every
function is total: bad, masked or missing input gives ``None``, never an exception, because one
odd card must not fail a batch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Literal

from airflow_provider_tencent_ocr.rows import nric

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("JAN", "JANUARY"),
            ("FEB", "FEBRUARY"),
            ("MAR", "MARCH"),
            ("APR", "APRIL"),
            ("MAY",),
            ("JUN", "JUNE"),
            ("JUL", "JULY"),
            ("AUG", "AUGUST"),
            ("SEP", "SEPT", "SEPTEMBER"),
            ("OCT", "OCTOBER"),
            ("NOV", "NOVEMBER"),
            ("DEC", "DECEMBER"),
        ),
        start=1,
    )
    for name in names
}
# Day first (Singapore): 12/04/1988, 12-04-1988, 12.04.1988, 12 04 1988.
_DMY_NUMERIC = re.compile(r"^(\d{1,2})\s*([/.\- ])\s*(\d{1,2})\s*\2\s*(\d{4})$")
# ISO: 1988-04-12 (a four-digit year first is never ambiguous).
_YMD_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
# Month names: 12 APR 1988, 12-Apr-1988, 12APR1988, 12 April 1988.
_DMY_NAMED = re.compile(r"^(\d{1,2})[\s./\-]*([A-Z]{3,9})\.?[\s./\-]*(\d{4})$")

_SEX = {"M": "M", "MALE": "M", "男": "M", "F": "F", "FEMALE": "F", "女": "F"}

# A masked ID as the service returns it (``S7***22E``) or as ``pii.mask_value`` writes it.
_MASKED_ID = re.compile(r"^[STFGM][0-9*]*\*[0-9*]*[A-Z*]?$")
_ID_TYPES: dict[str, Literal["NRIC", "FIN"]] = {"S": "NRIC", "T": "NRIC", "F": "FIN", "G": "FIN", "M": "FIN"}


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:  # 31/02, month 13, year 0 ...
        return None


def parse_card_date(value: str | None) -> dt.date | None:
    """A card date as a ``date``, day first; ``None`` for empty, masked, impossible or unknown text."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if not text:
        return None
    if match := _DMY_NUMERIC.match(text):
        day, _, month, year = match.groups()
        return _date(int(year), int(month), int(day))
    if match := _YMD_ISO.match(text):
        year, month, day = match.groups()
        return _date(int(year), int(month), int(day))
    if match := _DMY_NAMED.match(text):
        day, month_name, year = match.groups()
        month = _MONTHS.get(month_name)
        return _date(int(year), month, int(day)) if month else None
    return None


def normalise_sex(value: str | None) -> Literal["M", "F"] | None:
    """``M`` or ``F`` from the spellings seen on cards and in both API languages; else ``None``."""
    if not isinstance(value, str):
        return None
    return _SEX.get(value.strip().upper())  # type: ignore[return-value]


def _clean_id(id_number: str | None) -> str:
    if not isinstance(id_number, str):
        return ""
    return re.sub(r"\s+", "", id_number).upper()


def id_type(id_number: str | None) -> Literal["NRIC", "FIN"] | None:
    """``NRIC`` (S, T) or ``FIN`` (F, G, M) from the prefix of a well-formed or masked ID."""
    value = _clean_id(id_number)
    if nric.ID_PATTERN.match(value) or _MASKED_ID.match(value):
        return _ID_TYPES[value[0]]
    return None


def id_checksum_valid(id_number: str | None) -> bool | None:
    """Whether the check letter matches; ``None`` when it cannot be judged (masked, absent, misshapen).

    A masked ID is unknown, never invalid: reporting it as invalid would flag every card the
    service masked.
    """
    value = _clean_id(id_number)
    if not value or "*" in value:
        return None
    return nric.is_valid(value)


def typed_columns(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The six typed output columns from the raw snake_case columns of one row."""
    return {
        "birth_date": parse_card_date(raw.get("birthday")),
        "date_of_issue_date": parse_card_date(raw.get("date_of_issue")),
        "date_of_expiration_date": parse_card_date(raw.get("date_of_expiration")),
        "sex_normalised": normalise_sex(raw.get("sex")),
        "id_type": id_type(raw.get("id_number")),
        "id_checksum_valid": id_checksum_valid(raw.get("id_number")),
    }
