"""MyKad and NIK: structure checks, and the birth date and sex the numbers encode."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_tencent_ocr.rows.id_numbers import decode_mykad, decode_nik, mykad_is_valid, nik_is_valid


class TestMyKad:
    def test_structure_and_decoding(self) -> None:
        decoded = decode_mykad("880412-14-5678")  # born 12 Apr 1988 in Kuala Lumpur (14); even last digit
        assert decoded is not None
        assert (decoded.birth_date, decoded.birth_yymmdd, decoded.sex) == (dt.date(1988, 4, 12), "880412", "F")
        assert "880412" not in repr(decoded)

    def test_odd_last_digit_is_male(self) -> None:
        decoded = decode_mykad("880412145677")
        assert decoded is not None and decoded.sex == "M"

    def test_century_is_the_latest_not_in_the_future(self) -> None:
        decoded = decode_mykad("050101-10-1235")
        assert decoded is not None and decoded.birth_date == dt.date(2005, 1, 1)
        later = (dt.date.today() + dt.timedelta(days=400)).strftime("%y%m%d")
        decoded = decode_mykad(f"{later}101235")
        assert decoded is not None and decoded.birth_date.year < 2000

    @pytest.mark.parametrize(
        "number",
        [
            "881312-14-5678",  # month 13
            "880230-14-5678",  # 30 February
            "880412-17-5678",  # place-of-birth code 17 is never assigned
            "880412-00-5678",  # nor 00
            "880412-14-567",  # eleven digits
            "880412-14-56789",  # thirteen
            "88O412-14-5678",  # a letter O misread for 0
        ],
    )
    def test_wrong_structure(self, number: str) -> None:
        assert decode_mykad(number) is None
        assert mykad_is_valid(number) is False

    @pytest.mark.parametrize("number", [None, "", "880412-**-5678"])
    def test_cannot_be_judged(self, number: str | None) -> None:
        assert mykad_is_valid(number) is None

    def test_valid(self) -> None:
        assert mykad_is_valid("880412-14-5678") is True
        assert mykad_is_valid("880412 71 5678") is True  # 71: born abroad


class TestNik:
    def test_woman_has_forty_added_to_the_day(self) -> None:
        decoded = decode_nik("3171234512900001")  # Jakarta Pusat; day 45 = 5 + 40; Dec 1990
        assert decoded is not None
        assert (decoded.birth_date, decoded.birth_yymmdd, decoded.sex) == (dt.date(1990, 12, 5), "901205", "F")

    def test_man(self) -> None:
        decoded = decode_nik("3273011708900002")  # Bandung; 17 Aug 1990
        assert decoded is not None
        assert (decoded.birth_date, decoded.sex) == (dt.date(1990, 8, 17), "M")

    @pytest.mark.parametrize(
        "number",
        [
            "1071234512900001",  # province 10 does not exist
            "3100234512900001",  # regency 00
            "3171004512900001",  # district 00
            "3171233212900001",  # day 32
            "3171237212900001",  # day 72 (32 + 40)
            "3171234513900001",  # month 13
            "3171234512900000",  # serial 0000
            "317123451290001",  # fifteen digits
        ],
    )
    def test_wrong_structure(self, number: str) -> None:
        assert decode_nik(number) is None
        assert nik_is_valid(number) is False

    @pytest.mark.parametrize("number", [None, "", "3171********0001"])
    def test_cannot_be_judged(self, number: str | None) -> None:
        assert nik_is_valid(number) is None
