"""Each action's realistic answer (fields as the vendor's SDK documents them) fills the right common columns."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from document_responses import RESPONSES

from airflow_provider_tencent_ocr.actions.registry import ACTIONS, require_action
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.actions.spec import CommonColumns


def common_of(action: str, response: dict[str, Any] | None = None) -> CommonColumns:
    spec = require_action(action)
    return spec.common(DocumentResult.from_response(spec, response or RESPONSES[action]).fields)


EXPECTED: dict[str, CommonColumns] = {
    "RecognizeSingaporeIDCardOCR": CommonColumns(
        document_number="S1234567D",
        full_name="XIA YUNYANG",
        birth_date=dt.date(1988, 4, 12),
        sex="M",
        address="BLK 123 ANG MO KIO AVE 3 #05-67",
        nationality=None,
        expiry_date=None,
        number_valid=True,
        number_consistent=None,
    ),
    "MLIDCardOCR": CommonColumns(
        document_number="880412-14-5678",
        full_name="NUR AISYAH BINTI AHMAD",
        birth_date=dt.date(1988, 4, 12),
        sex="F",
        address="NO 12 JALAN MAWAR 3\nTAMAN MELATI\n53100 KUALA LUMPUR",
        nationality="MYS",
        expiry_date=None,
        number_valid=True,
        number_consistent=True,
    ),
    "HKIDCardOCR": CommonColumns(
        document_number="A123456(3)",
        full_name="CHAN, Tai Man",
        birth_date=dt.date(1985, 6, 15),
        sex="M",
        number_valid=True,
    ),
    "RecognizeThaiIDCardOCR": CommonColumns(
        document_number="1 1017 00230 07 4",
        full_name="Mr. Somchai Jaidee",
        birth_date=dt.date(1985, 6, 8),
        sex=None,
        address="99/1 หมู่ที่ 4 ต.บางพลีใหญ่ อ.บางพลี จ.สมุทรปราการ",
        nationality="THA",
        expiry_date=dt.date(2028, 6, 7),
        number_valid=True,
    ),
    "RecognizeIndonesiaIDCardOCR": CommonColumns(
        document_number="3171234512900001",
        full_name="SITI RAHAYU",
        birth_date=dt.date(1990, 12, 5),
        sex="F",
        address="JL. MERDEKA NO. 10, RT/RW 003/005, GAMBIR, GAMBIR, JAKARTA PUSAT, DKI JAKARTA",
        nationality="IDN",
        expiry_date=None,  # SEUMUR HIDUP: valid for life
        number_valid=True,
        number_consistent=True,
    ),
    "RecognizePhilippinesVoteIDOCR": CommonColumns(
        document_number="7604-0123A-B4567JDC20000",
        full_name="JUAN SANTOS DELA CRUZ",
        birth_date=dt.date(1990, 1, 15),
        address="123 RIZAL ST, BRGY SAN ISIDRO, QUEZON CITY",
        nationality="PHL",
    ),
    "RecognizePhilippinesDrivingLicenseOCR": CommonColumns(
        document_number="N01-23-456789",
        full_name="DELA CRUZ, JUAN SANTOS",
        birth_date=dt.date(1990, 1, 15),
        sex="M",
        address="123 RIZAL ST, QUEZON CITY",
        nationality="PHL",
        expiry_date=dt.date(2027, 1, 15),
    ),
    "RecognizePhilippinesUMIDOCR": CommonColumns(
        document_number="0111-2345678-9",
        full_name="MARIA CLARA GARCIA REYES",
        birth_date=dt.date(1992, 3, 4),  # month first: 03/04/1992 is 4 March
        sex="F",
        address="45 MABINI ST, MANILA",
    ),
    "RecognizePhilippinesSssIDOCR": CommonColumns(
        document_number="34-1234567-8",
        full_name="MARIA CLARA G. REYES",
        birth_date=dt.date(1992, 3, 4),
    ),
    "RecognizePhilippinesTinIDOCR": CommonColumns(
        document_number="123-456-789-000",
        full_name="MARIA CLARA GARCIA REYES",  # FullName blank: built from the parts
        birth_date=dt.date(1992, 3, 14),
        address="45 MABINI ST, MANILA",
    ),
    "MLIDPassportOCR": CommonColumns(
        document_number="L898902C3",
        full_name="ERIKSSON ANNA MARIA",
        birth_date=dt.date(1974, 8, 12),
        sex="F",
        nationality="UTO",
        expiry_date=dt.date(2012, 4, 15),
        number_valid=True,
        number_consistent=True,
    ),
}


def test_every_action_has_a_realistic_answer() -> None:
    assert set(RESPONSES) == set(ACTIONS) == set(EXPECTED)


@pytest.mark.parametrize("action", list(EXPECTED))
def test_common_columns(action: str) -> None:
    got = common_of(action)
    for column in ("document_number", "full_name", "birth_date", "sex", "address", "nationality", "expiry_date"):
        assert getattr(got, column) == getattr(EXPECTED[action], column), column
    assert (got.number_valid, got.number_consistent) == (
        EXPECTED[action].number_valid,
        EXPECTED[action].number_consistent,
    )


def test_common_columns_repr_shows_no_personal_data() -> None:
    got = common_of("MLIDCardOCR")
    assert "880412" not in repr(got) and "AISYAH" not in str(got)


# -- the number says one thing, the card another: number_consistent is the fraud signal ------------


def _changed(action: str, **fields: Any) -> dict[str, Any]:
    response = copy.deepcopy(RESPONSES[action])
    response.update(fields)
    return response


def test_mykad_printed_birth_date_disagrees_with_the_number() -> None:
    got = common_of("MLIDCardOCR", _changed("MLIDCardOCR", Birthday="13-04-1988"))
    assert got.number_consistent is False
    assert got.birth_date == dt.date(1988, 4, 13)  # the printed value is what the column holds
    assert got.number_valid is True


def test_mykad_printed_sex_disagrees_with_the_number() -> None:
    assert common_of("MLIDCardOCR", _changed("MLIDCardOCR", Sex="LELAKI")).number_consistent is False


def test_mykad_number_fills_what_is_not_printed() -> None:
    got = common_of("MLIDCardOCR", _changed("MLIDCardOCR", Birthday="", Sex=""))
    assert (got.birth_date, got.sex, got.number_consistent) == (dt.date(1988, 4, 12), "F", None)


def test_mykad_malformed_number() -> None:
    got = common_of("MLIDCardOCR", _changed("MLIDCardOCR", ID="881312-14-5678"))
    assert (got.number_valid, got.number_consistent) == (False, None)


def test_ikad_number_is_not_judged_as_mykad() -> None:
    got = common_of("MLIDCardOCR", _changed("MLIDCardOCR", Type="IKAD", ID="GE12345678"))
    assert (got.number_valid, got.number_consistent, got.nationality) == (None, None, None)


def test_nik_disagrees_with_printed_sex() -> None:
    got = common_of("RecognizeIndonesiaIDCardOCR", _changed("RecognizeIndonesiaIDCardOCR", JenisKelamin="LAKI-LAKI"))
    assert got.number_consistent is False and got.sex == "M"


def test_nik_fills_birth_date_and_sex() -> None:
    response = _changed("RecognizeIndonesiaIDCardOCR", TempatTglLahir="JAKARTA", JenisKelamin="")
    got = common_of("RecognizeIndonesiaIDCardOCR", response)
    assert (got.birth_date, got.sex, got.number_consistent) == (dt.date(1990, 12, 5), "F", None)


def test_passport_visual_zone_disagrees_with_mrz() -> None:
    response = copy.deepcopy(RESPONSES["MLIDPassportOCR"])
    response["PassportRecognizeInfos"]["DateOfBirth"] = "12 AUG 1975"
    got = common_of("MLIDPassportOCR", response)
    assert got.number_consistent is False
    assert got.number_valid is True  # the MRZ itself is intact


def test_passport_wrong_mrz_check_digit() -> None:
    line2 = RESPONSES["MLIDPassportOCR"]["CodeCrc"]
    got = common_of("MLIDPassportOCR", _changed("MLIDPassportOCR", CodeCrc=line2[:9] + "7" + line2[10:]))
    assert got.number_valid is False


def test_passport_from_the_mrz_alone() -> None:
    response = {
        "CodeSet": RESPONSES["MLIDPassportOCR"]["CodeSet"],
        "CodeCrc": RESPONSES["MLIDPassportOCR"]["CodeCrc"],
        "RequestId": "r",
    }
    got = common_of("MLIDPassportOCR", response)
    assert (got.document_number, got.full_name, got.birth_date, got.sex, got.nationality, got.expiry_date) == (
        "L898902C3",
        "ANNA MARIA ERIKSSON",
        dt.date(1974, 8, 12),
        "F",
        "UTO",
        dt.date(2012, 4, 15),
    )
    assert (got.number_valid, got.number_consistent) == (True, None)


def test_thai_wrong_check_digit_and_foreign_resident() -> None:
    got = common_of("RecognizeThaiIDCardOCR", _changed("RecognizeThaiIDCardOCR", ID="6101700230074"))
    assert got.number_valid is False and got.nationality is None


def test_hkid_wrong_check_digit() -> None:
    assert common_of("HKIDCardOCR", _changed("HKIDCardOCR", IdNum="A123456(4)")).number_valid is False


def test_singapore_wrong_check_letter() -> None:
    assert (
        common_of("RecognizeSingaporeIDCardOCR", _changed("RecognizeSingaporeIDCardOCR", ID="S1234567A")).number_valid
        is False
    )


def test_passport_mrz_parsed_dates_as_yymmdd() -> None:
    # The reference does not state the format of the MRZ-parsed dates; YYMMDD is read too.
    response = {"ID": "L898902C3", "DateOfBirth": "740812", "DateOfExpiration": "120415", "RequestId": "r"}
    got = common_of("MLIDPassportOCR", response)
    assert (got.birth_date, got.expiry_date) == (dt.date(1974, 8, 12), dt.date(2012, 4, 15))
    assert (got.number_valid, got.number_consistent) == (None, None)  # no MRZ lines to check
