"""Check digits from the published algorithms: HKID, Thai ID, ICAO 9303 MRZ (and NRIC/FIN in nric.py).

A check digit tells a real document number from an OCR misread (or a made-up number). Every
``is_valid`` here is total: ``True`` / ``False`` for a number of the right shape, ``None`` when it
cannot be judged (empty, masked with ``*``, wrong shape), because one odd card must not fail a batch
and a masked number is unknown, not invalid.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from airflow_provider_tencent_ocr.rows import nric

__all__ = [
    "MrzTd3",
    "hkid_check_digit",
    "hkid_is_valid",
    "mrz_check_digit",
    "mrz_date",
    "nric_is_valid",
    "parse_mrz_td3",
    "thai_id_check_digit",
    "thai_id_is_valid",
]

#: The Singapore NRIC/FIN check letter lives in nric.py; re-exported so every check is found here.
nric_is_valid = nric.is_valid

# -- Hong Kong identity card -----------------------------------------------------------------------
# One or two letters, six digits, a check digit 0-9 or A, often printed in brackets: A123456(3).
_HKID = re.compile(r"^([A-Z]{1,2})(\d{6})\(?([0-9A])\)?$")


def _clean(value: str | None) -> str:
    return re.sub(r"[\s\-]", "", value).upper() if isinstance(value, str) else ""


def hkid_check_digit(letters: str, digits: str) -> str:
    """The HKID check character for ``letters`` (one or two) and six ``digits``.

    Weights 9..2 over eight positions; a single letter is preceded by a space worth 36, letters are
    worth 10 (A) .. 35 (Z); the check is ``(11 - sum mod 11) mod 11`` with 10 written ``A``.
    """
    if not (
        1 <= len(letters) <= 2 and letters.isalpha() and letters.isupper() and len(digits) == 6 and digits.isdigit()
    ):
        raise ValueError("an HKID is one or two capital letters followed by six digits")
    values = [36] * (2 - len(letters)) + [ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "A" if check == 10 else str(check)


def hkid_is_valid(id_number: str | None) -> bool | None:
    """True/False for an HKID such as ``A123456(3)``; None when it cannot be judged."""
    value = _clean(id_number)
    if not value or "*" in value:
        return None
    match = _HKID.match(value)
    if not match:
        return None
    letters, digits, check = match.groups()
    return hkid_check_digit(letters, digits) == check


# -- Thai national ID ------------------------------------------------------------------------------


def thai_id_check_digit(first12: str) -> str:
    """The 13th digit of a Thai ID: ``(11 - sum(d_i * (13 - i)) mod 11) mod 10`` over the first 12."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("the first part of a Thai ID is twelve digits")
    total = sum(int(d) * w for d, w in zip(first12, range(13, 1, -1), strict=True))
    return str((11 - total % 11) % 10)


def thai_id_is_valid(id_number: str | None) -> bool | None:
    """True/False for a 13-digit Thai ID (spaces and dashes ignored); None when it cannot be judged."""
    value = _clean(id_number)
    if not value or "*" in value or not re.fullmatch(r"\d{13}", value):
        return None
    return thai_id_check_digit(value[:12]) == value[12]


# -- ICAO 9303 machine-readable zone ---------------------------------------------------------------


def _mrz_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - 55
    if char == "<":
        return 0
    raise ValueError(f"{char!r} is not an MRZ character (0-9, A-Z, <)")


def mrz_check_digit(field: str) -> str:
    """The ICAO 9303 check digit of ``field``: weights 7, 3, 1 repeating; ``<`` is 0, A-Z are 10-35."""
    return str(sum(_mrz_value(c) * (7, 3, 1)[i % 3] for i, c in enumerate(field)) % 10)


def _check(field: str, digit: str) -> bool:
    # A filler in the check position of an all-filler field is valid (ICAO 9303 part 3, 4.9).
    if digit == "<":
        return set(field) <= {"<"}
    try:
        return mrz_check_digit(field) == digit
    except ValueError:
        return False


def mrz_date(text: str | None, *, future: bool) -> dt.date | None:
    """``YYMMDD`` to a date: birth dates take the century that puts them in the past, expiry dates
    the one within 50 years of today (ICAO gives no century)."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{6}", text.strip()):
        return None
    text = text.strip()
    yy, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
    today = dt.date.today()
    year = 2000 + yy
    if future:
        if year > today.year + 50:
            year -= 100
    elif year > today.year:
        year -= 100
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


@dataclass(frozen=True)
class MrzTd3:
    """The two 44-character lines of a passport data page (ICAO 9303 TD3), decoded and checked."""

    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_yymmdd: str
    birth_date: dt.date | None
    sex: Literal["M", "F"] | None
    expiry_yymmdd: str
    expiry_date: dt.date | None
    personal_number: str
    document_number_ok: bool
    birth_date_ok: bool
    expiry_date_ok: bool
    personal_number_ok: bool
    composite_ok: bool

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return f"MrzTd3(valid={self.valid!r})"

    __str__ = __repr__

    @property
    def valid(self) -> bool:
        """All five check digits hold (document number, birth date, expiry, personal number, composite)."""
        return (
            self.document_number_ok
            and self.birth_date_ok
            and self.expiry_date_ok
            and self.personal_number_ok
            and self.composite_ok
        )

    @property
    def full_name(self) -> str:
        """``GIVEN NAMES SURNAME`` as a reader writes it."""
        return " ".join(part for part in (self.given_names, self.surname) if part)


_MRZ_LINE = re.compile(r"^[A-Z0-9<]{44}$")


def _normalise_mrz_line(line: str | None) -> str:
    return re.sub(r"\s+", "", line).upper() if isinstance(line, str) else ""


def parse_mrz_td3(line1: str | None, line2: str | None) -> MrzTd3 | None:
    """Decode a TD3 MRZ (passport) and check every check digit; None when the lines are not TD3-shaped.

    Line 2: document number 0-8 (check 9), nationality 10-12, birth date 13-18 (check 19), sex 20,
    expiry 21-26 (check 27), personal number 28-41 (check 42), composite check 43 over 0-9, 13-19
    and 21-42. Line 1: document type 0-1, issuing state 2-4, names 5-43 as ``SURNAME<<GIVEN<NAMES``.
    """
    l1, l2 = _normalise_mrz_line(line1), _normalise_mrz_line(line2)
    if not _MRZ_LINE.match(l1) or not _MRZ_LINE.match(l2):
        return None
    surname, _, given = l1[5:].partition("<<")
    sex = l2[20]
    return MrzTd3(
        document_type=l1[0:2].replace("<", ""),
        issuing_state=l1[2:5].replace("<", ""),
        surname=surname.replace("<", " ").strip(),
        given_names=given.replace("<", " ").strip(),
        document_number=l2[0:9].replace("<", ""),
        nationality=l2[10:13].replace("<", ""),
        birth_yymmdd=l2[13:19],
        birth_date=mrz_date(l2[13:19], future=False),
        sex="M" if sex == "M" else "F" if sex == "F" else None,
        expiry_yymmdd=l2[21:27],
        expiry_date=mrz_date(l2[21:27], future=True),
        personal_number=l2[28:42].replace("<", ""),
        document_number_ok=_check(l2[0:9], l2[9]),
        birth_date_ok=_check(l2[13:19], l2[19]),
        expiry_date_ok=_check(l2[21:27], l2[27]),
        personal_number_ok=_check(l2[28:42], l2[42]),
        composite_ok=_check(l2[0:10] + l2[13:20] + l2[21:43], l2[43]),
    )
