"""Numbers that encode the holder's birth date and sex: Malaysian MyKad and Indonesian NIK.

Neither has a published check digit; what can be checked is the structure (a real date, a known
place or region code, a serial) and what the number says about its holder, which is compared with
the printed birth date and sex (``number_consistent``). Every function is total: a number that
cannot be judged gives ``None``, never an exception.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["DecodedNumber", "decode_mykad", "decode_nik", "mykad_is_valid", "nik_is_valid"]


@dataclass(frozen=True)
class DecodedNumber:
    """What a structurally valid number says about its holder.

    ``birth_yymmdd`` is exact; ``birth_date`` adds a century (the latest one not in the future,
    since neither number records it), so compare on ``birth_yymmdd`` where a printed date exists.
    """

    birth_yymmdd: str
    birth_date: dt.date
    sex: Literal["M", "F"]

    def __repr__(self) -> str:
        return "DecodedNumber(...)"  # a birth date is personal data

    __str__ = __repr__


def _digits(value: str | None) -> str:
    return re.sub(r"[\s\-]", "", value) if isinstance(value, str) else ""


def _past_date(yy: int, month: int, day: int) -> dt.date | None:
    """The date with the latest century that is not after today."""
    today = dt.date.today()
    for year in (2000 + yy, 1900 + yy):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            return None
        if candidate <= today:
            return candidate
    return None


# -- MyKad (YYMMDD-PB-###G) --------------------------------------------------------------------------
# Place-of-birth codes the National Registration Department never assigns.
_MYKAD_UNUSED_PB = frozenset({0, 17, 18, 19, 20, 69, 70, 73, 80, 81, 94, 95, 96, 97})


def decode_mykad(number: str | None) -> DecodedNumber | None:
    """Birth date and sex from a MyKad number ``YYMMDD-PB-###G``; None when it is not well formed.

    ``PB`` is the place-of-birth code (01-16 and 21-59 Malaysian states, 60-99 other countries; the
    unused codes are refused); the last digit ``G`` is odd for a man and even for a woman.
    """
    value = _digits(number)
    if not re.fullmatch(r"\d{12}", value):
        return None
    if int(value[6:8]) in _MYKAD_UNUSED_PB:
        return None
    birth = _past_date(int(value[0:2]), int(value[2:4]), int(value[4:6]))
    if birth is None:
        return None
    return DecodedNumber(birth_yymmdd=value[0:6], birth_date=birth, sex="M" if int(value[11]) % 2 else "F")


def mykad_is_valid(number: str | None) -> bool | None:
    """True when the number has the MyKad structure, False when it does not; None for empty or masked."""
    value = _digits(number)
    if not value or "*" in value:
        return None
    return decode_mykad(value) is not None


# -- NIK (Nomor Induk Kependudukan) ---------------------------------------------------------------
# Province codes (the first two digits), including the Papua provinces created in 2022 (93-96).
_NIK_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)


def decode_nik(number: str | None) -> DecodedNumber | None:
    """Birth date and sex from a 16-digit NIK ``PPKKCC DDMMYY SSSS``; None when it is not well formed.

    ``PP`` is a province code, ``KK`` and ``CC`` the regency and district (never 00), then the birth
    date with 40 added to the day for women, then a serial that starts at 0001.
    """
    value = _digits(number)
    if not re.fullmatch(r"\d{16}", value):
        return None
    if int(value[0:2]) not in _NIK_PROVINCES or value[2:4] == "00" or value[4:6] == "00" or value[12:16] == "0000":
        return None
    day = int(value[6:8])
    sex: Literal["M", "F"] = "F" if day > 40 else "M"
    birth = _past_date(int(value[10:12]), int(value[8:10]), day - 40 if day > 40 else day)
    if birth is None:
        return None
    return DecodedNumber(birth_yymmdd=birth.strftime("%y%m%d"), birth_date=birth, sex=sex)


def nik_is_valid(number: str | None) -> bool | None:
    """True when the number has the NIK structure, False when it does not; None for empty or masked."""
    value = _digits(number)
    if not value or "*" in value:
        return None
    return decode_nik(value) is not None
