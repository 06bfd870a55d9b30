"""Check digits from the published algorithms: HKID, Thai ID, ICAO 9303 TD3 MRZ (and NRIC re-exported)."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_tencent_ocr.rows.checkdigits import (
    hkid_check_digit,
    hkid_is_valid,
    mrz_check_digit,
    mrz_date,
    nric_is_valid,
    parse_mrz_td3,
    thai_id_check_digit,
    thai_id_is_valid,
)

# The specimen passport of ICAO Doc 9303 part 4 (Anna Maria Eriksson, Utopia).
SPECIMEN_L1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
SPECIMEN_L2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"


class TestHkid:
    @pytest.mark.parametrize(
        ("number", "expected"),
        [
            ("A123456(3)", True),  # the commonly published example
            ("A1234563", True),  # brackets are optional
            ("a123456 (3)", True),  # case and blanks are ignored
            ("AB987654(3)", True),  # two letters: 10*9 + 11*8 + ... = 371, 371 mod 11 = 8 -> 3
            ("G123456(A)", True),  # 529 mod 11 = 1 -> 10, written A
            ("A123456(4)", False),
            ("A123457(3)", False),
            ("G123456(0)", False),
        ],
    )
    def test_check_digit(self, number: str, expected: bool) -> None:
        assert hkid_is_valid(number) is expected

    def test_single_letter_is_preceded_by_a_space_worth_36(self) -> None:
        # 36*9 + 10*8 + 1*7 + 2*6 + 3*5 + 4*4 + 5*3 + 6*2 = 481; 481 mod 11 = 8; 11 - 8 = 3.
        assert hkid_check_digit("A", "123456") == "3"

    @pytest.mark.parametrize("number", [None, "", "A12***(3)", "123456(3)", "A12345(3)", "ABC123456(3)"])
    def test_cannot_be_judged(self, number: str | None) -> None:
        assert hkid_is_valid(number) is None

    def test_bad_arguments_raise(self) -> None:
        with pytest.raises(ValueError, match="HKID"):
            hkid_check_digit("A", "12345")


class TestThaiId:
    @pytest.mark.parametrize(
        ("number", "expected"),
        [
            # 1*13 + 1*12 + 0 + 1*10 + 7*9 + 0 + 0 + 2*6 + 3*5 + 0 + 0 + 7*2 = 139; 139 mod 11 = 7; 11 - 7 = 4.
            ("1101700230074", True),
            ("1-1017-00230-07-4", True),
            ("1 1017 00230 07 4", True),
            # 3*13 + 1*12 + 5*9 + 2*7 + 1*4 + 4*3 + 5*2 = 136; 136 mod 11 = 4; 11 - 4 = 7.
            ("3100502001457", True),
            # 3*3 + 1*2 = 11; 11 mod 11 = 0; (11 - 0) mod 10 = 1.
            ("0000000000311", True),
            # 4*3 = 12; 12 mod 11 = 1; (11 - 1) mod 10 = 0.
            ("0000000000400", True),
            ("1101700230075", False),
            ("1101700230084", False),
            ("3100502001450", False),
        ],
    )
    def test_check_digit(self, number: str, expected: bool) -> None:
        assert thai_id_is_valid(number) is expected

    def test_digit(self) -> None:
        assert thai_id_check_digit("110170023007") == "4"

    @pytest.mark.parametrize(
        "number", [None, "", "110170023007", "11017002300745", "1-1017-0***0-07-4", "A101700230074"]
    )
    def test_cannot_be_judged(self, number: str | None) -> None:
        assert thai_id_is_valid(number) is None


class TestMrz:
    def test_check_digits_of_the_icao_specimen(self) -> None:
        assert mrz_check_digit("L898902C3") == "6"
        assert mrz_check_digit("740812") == "2"
        assert mrz_check_digit("120415") == "9"
        assert mrz_check_digit("ZE184226B<<<<<") == "1"
        assert mrz_check_digit("L898902C36" + "7408122" + "120415" + "9ZE184226B<<<<<1") == "0"

    def test_specimen_parses_and_is_valid(self) -> None:
        mrz = parse_mrz_td3(SPECIMEN_L1, SPECIMEN_L2)
        assert mrz is not None
        assert mrz.valid
        assert (mrz.document_type, mrz.issuing_state, mrz.nationality) == ("P", "UTO", "UTO")
        assert (mrz.surname, mrz.given_names, mrz.full_name) == ("ERIKSSON", "ANNA MARIA", "ANNA MARIA ERIKSSON")
        assert mrz.document_number == "L898902C3"
        assert mrz.birth_date == dt.date(1974, 8, 12) and mrz.birth_yymmdd == "740812"
        assert mrz.expiry_date == dt.date(2012, 4, 15)
        assert mrz.sex == "F"
        assert mrz.personal_number == "ZE184226B"
        assert "ERIKSSON" not in repr(mrz) and "L898902C3" not in str(mrz)

    @pytest.mark.parametrize(
        ("position", "replacement", "failing"),
        [
            (9, "7", "document_number_ok"),  # document number check digit
            (19, "3", "birth_date_ok"),
            (27, "8", "expiry_date_ok"),
            (42, "2", "personal_number_ok"),
            (43, "1", "composite_ok"),
            (3, "9", "document_number_ok"),  # a misread in the number itself
            (16, "9", "birth_date_ok"),  # a misread in the birth date
        ],
    )
    def test_a_wrong_digit_fails_its_check(self, position: int, replacement: str, failing: str) -> None:
        line2 = SPECIMEN_L2[:position] + replacement + SPECIMEN_L2[position + 1 :]
        mrz = parse_mrz_td3(SPECIMEN_L1, line2)
        assert mrz is not None
        assert getattr(mrz, failing) is False
        assert mrz.valid is False

    def test_empty_personal_number_with_filler_check(self) -> None:
        # Personal number all filler, its check digit '<' (allowed); composite recomputed.
        body = "L898902C36UTO7408122F1204159" + "<" * 14 + "<"
        composite = mrz_check_digit(body[0:10] + body[13:20] + body[21:43])
        mrz = parse_mrz_td3(SPECIMEN_L1, body + composite)
        assert mrz is not None and mrz.valid and mrz.personal_number == ""

    @pytest.mark.parametrize(
        ("line1", "line2"),
        [(None, SPECIMEN_L2), (SPECIMEN_L1, ""), (SPECIMEN_L1, SPECIMEN_L2[:-1]), (SPECIMEN_L1, SPECIMEN_L2 + "<")],
    )
    def test_not_td3(self, line1: str | None, line2: str) -> None:
        assert parse_mrz_td3(line1, line2) is None

    def test_blanks_and_case_are_ignored(self) -> None:
        mrz = parse_mrz_td3(SPECIMEN_L1.lower(), " ".join([SPECIMEN_L2[:22], SPECIMEN_L2[22:]]))
        assert mrz is not None and mrz.valid

    def test_not_an_mrz_character(self) -> None:
        with pytest.raises(ValueError, match="not an MRZ character"):
            mrz_check_digit("AB-1")


def test_nric_is_reused() -> None:
    assert nric_is_valid("S1234567D") is True
    assert nric_is_valid("S1234567A") is False


def test_mrz_dates_take_a_century() -> None:
    assert mrz_date("740812", future=False) == dt.date(1974, 8, 12)
    assert mrz_date("000101", future=False) == dt.date(2000, 1, 1)
    assert mrz_date("300101", future=True) == dt.date(2030, 1, 1)  # an expiry within 50 years ahead
    assert mrz_date("991231", future=True) == dt.date(1999, 12, 31)
    assert mrz_date("741332", future=False) is None and mrz_date("7408", future=False) is None
