"""Typed values for the common columns, read from the text the ID-document actions return.

The vendor's reference does not state date formats; these parsers accept the forms the
documents print (day or month first, month names in English, Indonesian and Thai, Buddhist-era
years) and give ``None`` for anything else, so an unknown format is a null, never a wrong date.
Where a numeric date is ambiguous (``03/04/1990``), the action's ``date_order`` decides.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from airflow_provider_tencent_ocr.rows.validation import normalise_sex

__all__ = ["DateOrder", "nationality_code", "parse_document_date", "parse_sex"]

DateOrder = Literal["DMY", "MDY"]

_MONTH_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("JAN", "JANUARY", "JANUARI", "ม.ค.", "มกราคม"),
        ("FEB", "FEBRUARY", "FEBRUARI", "PEB", "ก.พ.", "กุมภาพันธ์"),
        ("MAR", "MARCH", "MARET", "มี.ค.", "มีนาคม"),
        ("APR", "APRIL", "เม.ย.", "เมษายน"),
        ("MAY", "MEI", "พ.ค.", "พฤษภาคม"),
        ("JUN", "JUNE", "JUNI", "มิ.ย.", "มิถุนายน"),
        ("JUL", "JULY", "JULI", "ก.ค.", "กรกฎาคม"),
        ("AUG", "AUGUST", "AGUSTUS", "AGU", "AGT", "ส.ค.", "สิงหาคม"),
        ("SEP", "SEPT", "SEPTEMBER", "ก.ย.", "กันยายน"),
        ("OCT", "OCTOBER", "OKT", "OKTOBER", "ต.ค.", "ตุลาคม"),
        ("NOV", "NOVEMBER", "NOP", "NOPEMBER", "พ.ย.", "พฤศจิกายน"),
        ("DEC", "DECEMBER", "DES", "DESEMBER", "ธ.ค.", "ธันวาคม"),
    ),
    start=1,
):
    for _name in _names:
        _MONTH_NAMES[_name] = _number

_SEP = r"[\s./\-,]*"
_NUMERIC = re.compile(r"^(\d{1,2})\s*([/.\- ])\s*(\d{1,2})\s*\2\s*(\d{4})$")
_YEAR_FIRST = re.compile(r"^(\d{4})\s*([/.\- ])\s*(\d{1,2})\s*\2\s*(\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DAY_NAME_YEAR = re.compile(rf"^(\d{{1,2}}){_SEP}([^\d\s,/\-]+?){_SEP}(\d{{4}})$")
_NAME_DAY_YEAR = re.compile(rf"^([^\d\s,/\-]+?){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})$")
_BUDDHIST_ERA_OFFSET = 543  # Thai years: BE 2533 is CE 1990
#: Buddhist-era years a person's or a current document's date can have (CE 1858-2157); a larger year
#: (``9999``, the "does not expire" sentinel) is read as printed, not shifted to a wrong date.
_BUDDHIST_ERA_YEARS = range(2401, 2701)


def _date(year: int, month: int, day: int) -> dt.date | None:
    if year in _BUDDHIST_ERA_YEARS:  # no Gregorian year on a current document is in this range
        year -= _BUDDHIST_ERA_OFFSET
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month(name: str) -> int | None:
    key = name.strip().upper()
    return _MONTH_NAMES.get(key) or _MONTH_NAMES.get(key.rstrip(".")) or _MONTH_NAMES.get(key + ".")


def parse_document_date(value: str | None, order: DateOrder = "DMY") -> dt.date | None:
    """A printed date as a ``date``; None for empty, masked, impossible or unknown text.

    Accepts ``12/04/1988`` (``order`` decides day or month first when both are 12 or less; a part
    over 12 settles it), ``1988-04-12``, ``1988/04/12``, ``19880412``, ``12 APR 1988``,
    ``APR 12, 1988``, ``8 Jun. 1985``, ``17 AGUSTUS 1990`` and ``8 มิ.ย. 2528`` (Buddhist era).
    """
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if not text or "*" in text:
        return None
    if match := _NUMERIC.match(text):
        first, _, second, year = match.groups()
        a, b = int(first), int(second)
        day, month = (a, b) if order == "DMY" else (b, a)
        if month > 12 >= day:  # the order given cannot be right: the other one is the only reading
            day, month = month, day
        return _date(int(year), month, day)
    if match := _YEAR_FIRST.match(text) or _COMPACT.match(text):
        groups = match.groups()
        return _date(int(groups[0]), int(groups[-2]), int(groups[-1]))
    if match := _DAY_NAME_YEAR.match(text):
        number = _month(match.group(2))
        return _date(int(match.group(3)), number, int(match.group(1))) if number else None
    if match := _NAME_DAY_YEAR.match(text):
        number = _month(match.group(1))
        return _date(int(match.group(3)), number, int(match.group(2))) if number else None
    return None


_EXTRA_SEX: dict[str, Literal["M", "F"]] = {
    "LAKI-LAKI": "M",
    "LAKI LAKI": "M",
    "LELAKI": "M",
    "PEREMPUAN": "F",
    "WANITA": "F",
    "ชาย": "M",
    "หญิง": "F",
}


def parse_sex(value: str | None) -> Literal["M", "F"] | None:
    """``M`` / ``F`` from English, Chinese, Malay, Indonesian and Thai spellings; else None."""
    known = normalise_sex(value)
    if known or not isinstance(value, str):
        return known
    text = value.strip().upper()
    if text in _EXTRA_SEX:
        return _EXTRA_SEX[text]
    # Bilingual print such as "男 M" or "女/F": every part must say the same.
    parts = _SEX_PART.findall(text)
    if parts and _SEX_PART.sub("", text).strip(" /") == "":
        said = {normalise_sex(part) for part in parts}
        if len(said) == 1:
            return said.pop()
    return None


_SEX_PART = re.compile(r"FEMALE|MALE|[男女]|(?<![A-Z])[MF](?![A-Z])")


_NATIONALITY_WORDS = {
    "WNI": "IDN",  # warga negara Indonesia
    "INDONESIA": "IDN",
    "FILIPINO": "PHL",
    "PHILIPPINES": "PHL",
    "PHILIPPINE": "PHL",
    "MALAYSIA": "MYS",
    "MALAYSIAN": "MYS",
    "THAI": "THA",
    "SINGAPORE": "SGP",
    "SINGAPOREAN": "SGP",
}


def nationality_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-3 code (as the MRZ writes it) from a code or a known word; else None.

    ``D`` (Germany in the MRZ) becomes ``DEU``; any other three-letter code is kept as given.
    """
    if not isinstance(value, str):
        return None
    text = value.replace("<", " ").strip().upper()
    if text in _NATIONALITY_WORDS:
        return _NATIONALITY_WORDS[text]
    if text == "D":
        return "DEU"
    if text == "WNA":  # warga negara asing: a foreigner, nationality not stated
        return None
    return text if re.fullmatch(r"[A-Z]{3}", text) else None
