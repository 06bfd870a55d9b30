"""Singapore NRIC / FIN check letters, from the API reference (the emulator's own copy).

The provider keeps its own copy (``airflow_provider_tencent_ocr.rows.nric``); a test compares the two
over every prefix and many digit strings, so neither can drift unnoticed.
"""

from __future__ import annotations

import re

ID_PATTERN = re.compile(r"^[STFGM]\d{7}[A-Z]$")
_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def check_letter(prefix: str, digits: str) -> str:
    """The check letter for ``prefix`` (S, T, F, G or M) and seven ``digits``."""
    if prefix not in "STFGM" or len(prefix) != 1 or len(digits) != 7 or not digits.isdigit():
        raise ValueError("an NRIC/FIN is a prefix S, T, F, G or M followed by seven digits")
    total = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True))
    total += {"T": 4, "G": 4, "M": 3}.get(prefix, 0)
    r = total % 11
    if prefix in "ST":
        return "JZIHGFEDCBA"[r]
    if prefix in "FG":
        return "XWUTRQPNMLK"[r]
    return "KLJNPQRTUWX"[10 - r]
