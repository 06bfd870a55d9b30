"""Small helpers the action modules share to fill the common columns from a ``fields`` map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

from airflow_provider_tencent_ocr.rows.id_numbers import DecodedNumber

__all__ = ["first", "from_number", "joined"]


def first(fields: Mapping[str, str], *names: str) -> str | None:
    """The first of ``names`` with non-blank text, stripped; None when all are blank or absent."""
    for name in names:
        value = (fields.get(name) or "").strip()
        if value:
            return value
    return None


def joined(fields: Mapping[str, str], *names: str, sep: str = " ") -> str | None:
    """The non-blank values of ``names`` joined in order; None when all are blank."""
    parts = [(fields.get(name) or "").strip() for name in names]
    text = sep.join(part for part in parts if part)
    return text or None


def from_number(
    decoded: DecodedNumber | None,
    printed_birth: dt.date | None,
    printed_sex: Literal["M", "F"] | None,
) -> tuple[dt.date | None, Literal["M", "F"] | None, bool | None]:
    """``(birth_date, sex, number_consistent)`` for a number that encodes birth date and sex.

    The printed values win; the number fills what is not printed. ``number_consistent`` is True
    when every printed value agrees with the number, False when one does not, None when the number
    says nothing (malformed or masked) or nothing is printed to compare. Birth dates are compared
    on ``YYMMDD``: the numbers carry no century.
    """
    if decoded is None:
        return printed_birth, printed_sex, None
    checks: list[bool] = []
    if printed_birth is not None:
        checks.append(printed_birth.strftime("%y%m%d") == decoded.birth_yymmdd)
    if printed_sex is not None:
        checks.append(printed_sex == decoded.sex)
    return (
        printed_birth or decoded.birth_date,
        printed_sex or decoded.sex,
        all(checks) if checks else None,
    )
