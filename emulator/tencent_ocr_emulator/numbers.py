"""Document numbers from their public algorithms (the emulator's own copy, for synthetic answers and cards).

- HKID: one or two letters, six digits, a mod-11 check digit (``A`` for 10), e.g. ``A123456(3)``.
- Thai ID: 13 digits, the last ``(11 - sum(d_i * (13 - i)) % 11) % 10``.
- ICAO 9303 MRZ: check digits weighted 7, 3, 1 (``<`` = 0, ``A`` = 10 ... ``Z`` = 35); TD3 lines of 44.
- MyKad: ``YYMMDD-PB-###G``, G odd for men and even for women.
- NIK: six digits of region, ``DDMMYY`` (40 added to the day for women), four of serial.

The provider keeps its own validators (``airflow_provider_tencent_ocr.rows``); tests compare them.
"""

from __future__ import annotations

import datetime as dt

_HKID_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2)
_MRZ_WEIGHTS = (7, 3, 1)


def _char_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    if ch == "<":
        return 0
    if "A" <= ch <= "Z":
        return ord(ch) - ord("A") + 10
    raise ValueError(f"not an MRZ character: {ch!r}")


def hkid_check_digit(prefix: str, digits: str) -> str:
    """The check character of an HKID with one or two letters ``prefix`` and six ``digits``."""
    if not (1 <= len(prefix) <= 2 and prefix.isalpha() and prefix.isupper() and len(digits) == 6 and digits.isdigit()):
        raise ValueError("an HKID is one or two capital letters followed by six digits")
    values = ([36] if len(prefix) == 1 else []) + [ord(c) - ord("A") + 10 for c in prefix] + [int(d) for d in digits]
    remainder = sum(v * w for v, w in zip(values, _HKID_WEIGHTS, strict=True)) % 11
    check = (11 - remainder) % 11
    return "A" if check == 10 else str(check)


def thai_check_digit(first12: str) -> str:
    """The 13th digit of a Thai ID for its first twelve digits."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("a Thai ID's check digit is computed over twelve digits")
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return str((11 - total % 11) % 10)


def mrz_check_digit(field: str) -> str:
    """ICAO 9303 check digit of an MRZ field."""
    return str(sum(_char_value(c) * _MRZ_WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


def mrz_name(surname: str, given: str, width: int = 39) -> str:
    """``SURNAME<<GIVEN<NAMES`` padded (or truncated) to ``width``, spaces and hyphens as ``<``."""

    def clean(text: str) -> str:
        return "".join(c if "A" <= c <= "Z" else "<" for c in text.upper().replace("'", ""))

    name = clean(surname) + ("<<" + clean(given) if given else "")
    return name[:width].ljust(width, "<")


def td3_lines(
    *,
    issuing: str,
    surname: str,
    given: str,
    number: str,
    nationality: str,
    birth: dt.date,
    sex: str,
    expiry: dt.date,
    personal: str = "",
    doc_type: str = "P<",
) -> tuple[str, str]:
    """The two 44-character lines of a passport data page's MRZ, with every check digit."""
    line1 = (doc_type + issuing.ljust(3, "<") + mrz_name(surname, given))[:44]
    doc = number.ljust(9, "<")[:9]
    born, expires = birth.strftime("%y%m%d"), expiry.strftime("%y%m%d")
    optional = personal.ljust(14, "<")[:14]
    optional_check = mrz_check_digit(optional) if personal else "<"
    body = (
        doc
        + mrz_check_digit(doc)
        + nationality.ljust(3, "<")
        + born
        + mrz_check_digit(born)
        + (sex if sex in "MF" else "<")
        + expires
        + mrz_check_digit(expires)
        + optional
        + optional_check
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1, body + mrz_check_digit(composite)


def td3_valid(line2: str) -> bool:
    """True when every check digit of a TD3 second line holds."""
    if len(line2) != 44:
        return False
    try:
        fields = ((line2[0:9], line2[9]), (line2[13:19], line2[19]), (line2[21:27], line2[27]))
        if any(mrz_check_digit(value) != check for value, check in fields):
            return False
        optional, optional_check = line2[28:42], line2[42]
        if optional_check != "<" or optional.strip("<"):
            if mrz_check_digit(optional) != optional_check.replace("<", "0"):
                return False
        return mrz_check_digit(line2[0:10] + line2[13:20] + line2[21:43]) == line2[43]
    except ValueError:
        return False


def mykad_number(birth: dt.date, place: int, serial: int, sex: str) -> str:
    """``YYMMDD-PB-###G``: ``serial`` gives the first three of the last four digits, ``sex`` the parity of G."""
    last = serial % 10
    if (last % 2 == 1) != (sex == "M"):
        last = (last + 1) % 10
    return f"{birth:%y%m%d}-{place:02d}-{serial // 10 % 1000:03d}{last}"


def nik_number(region: str, birth: dt.date, sex: str, serial: int) -> str:
    """A NIK: six digits of ``region``, the birth date (day + 40 for women) as DDMMYY, four of serial (from 0001)."""
    day = birth.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{birth:%m%y}{1 + serial % 9999:04d}"
