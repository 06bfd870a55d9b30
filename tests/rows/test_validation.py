"""Typed columns: card dates, sex, ID type and the NRIC/FIN check letter."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_tencent_ocr.rows.validation import (
    id_checksum_valid,
    id_type,
    normalise_sex,
    parse_card_date,
    typed_columns,
)

APRIL_12 = dt.date(1988, 4, 12)


@pytest.mark.parametrize(
    "text",
    [
        "12/04/1988",
        "12-04-1988",
        "12.04.1988",
        "12 04 1988",
        "1988-04-12",
        "12 APR 1988",
        "12-Apr-1988",
        "12apr1988",
        "12 April 1988",
        "  12/04/1988\n",
        "12 / 04 / 1988",
    ],
)
def test_dates_are_day_first_in_every_card_format(text):
    assert parse_card_date(text) == APRIL_12


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/2/2003", dt.date(2003, 2, 1)),
        ("29/02/2000", dt.date(2000, 2, 29)),  # leap year (divisible by 400)
        ("29/02/2024", dt.date(2024, 2, 29)),  # leap year
        ("29/02/1900", None),  # not a leap year (divisible by 100)
        ("29/02/2023", None),  # not a leap year
        ("31/02/1990", None),
        ("31/04/1990", None),
        ("00/01/1990", None),
        ("12/13/1988", None),  # never month first
        ("12/04-1988", None),  # mixed separators
        ("12/04/88", None),  # two-digit year is ambiguous
        ("12 XYZ 1988", None),
        ("12/**/1988", None),  # masked
        ("**/**/****", None),
        ("", None),
        ("   ", None),
        ("garbage", None),
        (None, None),
    ],
)
def test_impossible_masked_or_garbage_dates_are_none(text, expected):
    assert parse_card_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("M", "M"),
        ("m", "M"),
        (" MALE ", "M"),
        ("male", "M"),
        ("男", "M"),
        ("F", "F"),
        ("f", "F"),
        ("Female", "F"),
        ("女", "F"),
        ("", None),
        ("X", None),
        ("MF", None),
        (None, None),
    ],
)
def test_normalise_sex(text, expected):
    assert normalise_sex(text) == expected


# Check letters computed by hand from the rule in the API notes.
# Digits 1234567: 1*2 + 2*7 + 3*6 + 4*5 + 5*4 + 6*3 + 7*2 = 106.
#   S: 106 % 11 = 7 -> JZIHGFEDCBA[7] = D      T: (106+4) % 11 = 0 -> J
#   F: 7 -> XWUTRQPNMLK[7] = N                 G: 0 -> X
#   M: (106+3) % 11 = 10 -> KLJNPQRTUWX[10-10] = K
# Digits 0000001: sum 2.
#   S: 2 -> I   T: 6 -> E   F: 2 -> U   G: 6 -> P   M: 5 -> KLJNPQRTUWX[5] = Q
VALID = [
    ("S1234567D", "NRIC"),
    ("T1234567J", "NRIC"),
    ("F1234567N", "FIN"),
    ("G1234567X", "FIN"),
    ("M1234567K", "FIN"),
    ("S0000001I", "NRIC"),
    ("T0000001E", "NRIC"),
    ("F0000001U", "FIN"),
    ("G0000001P", "FIN"),
    ("M0000001Q", "FIN"),
]


@pytest.mark.parametrize(("id_number", "kind"), VALID)
def test_valid_ids_of_every_prefix(id_number, kind):
    assert id_checksum_valid(id_number) is True
    assert id_type(id_number) == kind


@pytest.mark.parametrize(("id_number", "kind"), VALID)
def test_wrong_check_letter_is_invalid(id_number, kind):
    wrong = id_number[:-1] + ("A" if id_number[-1] != "A" else "B")
    assert id_checksum_valid(wrong) is False
    assert id_type(wrong) == kind


def test_the_prefix_matters_for_the_check_letter():
    # Same digits and letter, other prefix: T uses an offset of 4, so D is wrong there.
    assert id_checksum_valid("T1234567D") is False
    assert id_checksum_valid("F1234567D") is False


@pytest.mark.parametrize(
    ("id_number", "kind"),
    [
        ("S7***22E", "NRIC"),
        ("T*******J", "NRIC"),
        ("G12****7X", "FIN"),
        ("M*******K", "FIN"),
        ("F7***22", "FIN"),
    ],
)
def test_masked_ids_are_unknown_not_invalid(id_number, kind):
    assert id_checksum_valid(id_number) is None
    assert id_type(id_number) == kind


def test_ids_are_normalised_for_case_and_spaces():
    assert id_checksum_valid(" s1234567d ") is True
    assert id_checksum_valid("S 1234567 D") is True
    assert id_type("g1234567x") == "FIN"


@pytest.mark.parametrize("id_number", ["", "   ", None, "X1234567D", "S123D", "hello", "12345678"])
def test_absent_or_misshapen_ids_are_none(id_number):
    assert id_checksum_valid(id_number) is None
    assert id_type(id_number) is None


def test_typed_columns_of_the_documented_example():
    raw = {
        "birthday": "12/04/1988",
        "date_of_issue": "",
        "date_of_expiration": "01 JAN 2030",
        "sex": "M",
        "id_number": "S7***22E",
    }
    assert typed_columns(raw) == {
        "birth_date": APRIL_12,
        "date_of_issue_date": None,
        "date_of_expiration_date": dt.date(2030, 1, 1),
        "sex_normalised": "M",
        "id_type": "NRIC",
        "id_checksum_valid": None,
    }


def test_typed_columns_tolerates_missing_keys():
    assert typed_columns({}) == dict.fromkeys(
        [
            "birth_date",
            "date_of_issue_date",
            "date_of_expiration_date",
            "sex_normalised",
            "id_type",
            "id_checksum_valid",
        ]
    )
    assert typed_columns({"id_number": "S1234567D"})["id_checksum_valid"] is True
