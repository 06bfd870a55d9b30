"""Singapore NRIC / FIN check letters: the one rule that tells a real ID from an OCR misread."""

from __future__ import annotations

import re

_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_OFFSET = {"S": 0, "T": 4, "F": 0, "G": 4, "M": 3}
_LETTERS = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK"}
_M_LETTERS = "KLJNPQRTUWX"
ID_PATTERN = re.compile(r"^[STFGM]\d{7}[A-Z]$")


def check_letter(prefix: str, digits: str) -> str:
    """The check letter for ``prefix`` (S, T, F, G or M) followed by seven ``digits``."""
    if prefix not in _OFFSET or len(digits) != 7 or not digits.isdigit():
        raise ValueError("an NRIC/FIN is a prefix S, T, F, G or M followed by seven digits")
    remainder = (sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) + _OFFSET[prefix]) % 11
    if prefix == "M":
        return _M_LETTERS[10 - remainder]
    return _LETTERS[prefix][remainder]


def is_valid(id_number: str) -> bool | None:
    """True or False for a full ID; None when it cannot be judged (masked, empty, wrong shape)."""
    value = (id_number or "").strip().upper()
    if not ID_PATTERN.match(value):
        return None
    return check_letter(value[0], value[1:8]) == value[8]
