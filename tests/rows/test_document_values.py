"""Dates, sex and nationality as the ID documents print them."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_tencent_ocr.rows.document_values import nationality_code, parse_document_date, parse_sex


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("12/04/1988", "DMY", dt.date(1988, 4, 12)),
        ("12/04/1988", "MDY", dt.date(1988, 12, 4)),
        ("15/01/1990", "MDY", dt.date(1990, 1, 15)),  # a part over 12 settles the order
        ("01/15/1990", "DMY", dt.date(1990, 1, 15)),
        ("17-08-1990", "DMY", dt.date(1990, 8, 17)),
        ("1990-08-17", "DMY", dt.date(1990, 8, 17)),
        ("1990/08/17", "MDY", dt.date(1990, 8, 17)),
        ("19900817", "DMY", dt.date(1990, 8, 17)),
        ("12 APR 1988", "DMY", dt.date(1988, 4, 12)),
        ("8 Jun. 1985", "DMY", dt.date(1985, 6, 8)),
        ("JAN 15, 1990", "MDY", dt.date(1990, 1, 15)),
        ("January 15 1990", "DMY", dt.date(1990, 1, 15)),
        ("17 AGUSTUS 1990", "DMY", dt.date(1990, 8, 17)),
        ("8 มิ.ย. 2528", "DMY", dt.date(1985, 6, 8)),  # Buddhist era 2528 = 1985
        ("08/06/2528", "DMY", dt.date(1985, 6, 8)),
    ],
)
def test_dates(text: str, order: str, expected: dt.date) -> None:
    assert parse_document_date(text, order) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", [None, "", "SEUMUR HIDUP", "LIFELONG", "31/02/1990", "12/**/1988", "13/13/1990", "12 FOO 1988"]
)
def test_no_date(text: str | None) -> None:
    assert parse_document_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M", "M"),
        ("Female", "F"),
        ("男", "M"),
        ("LAKI-LAKI", "M"),
        ("PEREMPUAN", "F"),
        ("หญิง", "F"),
        ("男M", "M"),
        ("女 / F", "F"),
        ("男 F", None),  # the two parts disagree
        ("MX", None),
        ("X", None),
        (None, None),
    ],
)
def test_sex(text: str | None, expected: str | None) -> None:
    assert parse_sex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("WNI", "IDN"), ("WNA", None), ("FILIPINO", "PHL"), ("PHL", "PHL"), ("D<<", "DEU"), ("UTO", "UTO"), ("", None)],
)
def test_nationality(text: str, expected: str | None) -> None:
    assert nationality_code(text) == expected
