"""The offline engine's passport and MyKad readers: parsing OCR lines (no model), then the real
engine end to end on generated documents (slow: loads the bundled models)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_client import Client, code

from tencent_ocr_emulator import cards
from tencent_ocr_emulator.local_engine import documents
from tencent_ocr_emulator.local_engine.lines import OcrLine
from tencent_ocr_emulator.server import EmulatorServer

LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"  # ICAO 9303 specimen


def line(text: str, x: float, y: float, w: float = 300, h: float = 34) -> OcrLine:
    return OcrLine(text, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


@pytest.mark.parametrize(
    "read",
    [
        LINE2,
        "L898902C36UTO74O8122F12O4159ZE184226B<<<<<1O",  # O for 0 where digits stand
        "L8989O2C36UT07408122F1204159ZE184226B<<<<<10",  # O in the number, 0 in the state
        "L898902C36UTO7408122F1204159ZE184226B<<<<<<<10",  # fillers miscounted
        "L898902C36UTO7408122F1204159ZE184226B«<<<10",  # a filler look-alike
    ],
)
def test_second_line_is_corrected_by_its_check_digits(read: str) -> None:
    assert documents.read_line2(read) == LINE2


@pytest.mark.parametrize(
    "read",
    [
        "L898902C36UTO7408123F1204159ZE184226B<<<<<10",  # birth date check digit wrong
        "L898902C36UTO7408122F1204158ZE184226B<<<<<10",  # expiry check digit wrong
        "L898902C36UTO7408122F1204159ZE184226B<<<<<11",  # composite wrong
        "L898902C3",
    ],
)
def test_a_second_line_whose_checks_fail_is_not_read(read: str) -> None:
    assert documents.read_line2(read) is None


def test_first_line_names_and_blurred_fillers() -> None:
    assert documents.read_line1(LINE1) == ("P", "UTO", "ERIKSSON", "ANNA MARIA")
    assert documents.read_line1("P<SGPHALIM<<BUDI<CC<EC<C<C<CEC<E<<<<<<<<<<<<") == ("P", "SGP", "HALIM", "BUDI")
    assert documents.read_line1("P<SGPDELA<CRUZ<<MEI<LING<<<<<<<<<<<<<<<<<<<<") == ("P", "SGP", "DELA CRUZ", "MEI LING")


def test_passport_fields_come_from_the_mrz() -> None:
    parsed = documents.parse_passport(
        [
            line("Surname", 300, 100, 120, 24),
            line("ERIKSSON", 300, 126),
            line(LINE1, 40, 500, 900),
            line(LINE2, 40, 560, 900),
        ]
    )
    assert parsed.side == "front"
    assert parsed.fields == {
        "Type": "P",
        "IssuingCountry": "UTO",
        "Surname": "ERIKSSON",
        "GivenName": "ANNA MARIA",
        "Name": "ERIKSSON ANNA MARIA",
        "CodeSet": LINE1,
        "ID": "L898902C3",
        "Nationality": "UTO",
        "DateOfBirth": "1974-08-12",
        "Sex": "F",
        "DateOfExpiration": "2012-04-15",
        "CodeCrc": LINE2,
    }
    assert documents.parse_passport([line("SINGAPORE", 10, 10), line("S1234567D", 10, 60)]).side is None


def test_mykad_fields_and_birth_date_from_the_number() -> None:
    lines = [
        line("KAD PENGENALAN", 100, 90),
        line("MyKad", 720, 95, 150),
        line("850312-14-5677", 100, 220, 340, 45),
        line("SITI AMINAH BINTI OSMAN", 100, 370, 500),
        line("NO 12 JALAN MAWAR 3", 100, 420),
        line("50450KUALA LUMPUR", 100, 462),
        line("W.P KUALA LUMPUR", 100, 504),
        line("WARGANEGARA", 790, 490, 220, 32),
        line("PEREMPUAN", 790, 590, 200, 32),
    ]
    parsed = documents.parse_mykad(lines)
    assert parsed.fields == {
        "Type": "MyKad",
        "Sex": "PEREMPUAN",
        "ID": "850312-14-5677",
        "Birthday": "12/03/1985",
        "Name": "SITI AMINAH BINTI OSMAN",
        "Address": "NO 12 JALAN MAWAR 3 50450 KUALA LUMPUR W.P KUALA LUMPUR",
    }
    assert parsed.missing == []
    covered = documents.parse_mykad([ln for ln in lines if ln.text != "PEREMPUAN"])
    assert covered.missing == ["Sex"]
    assert documents.parse_mykad([line("REPUBLIC OF SINGAPORE", 10, 10)]).side is None


@pytest.fixture(scope="module")
def engine() -> Iterator[EmulatorServer]:
    pytest.importorskip("rapidocr")
    from tencent_ocr_emulator.local_engine import LocalRecogniser

    with EmulatorServer(recogniser=LocalRecogniser(workers=1, warm=True), rate_limit=0, queue_timeout=600) as server:
        yield server


@pytest.mark.slow
def test_offline_engine_reads_clean_passports_and_mykads_exactly(engine: EmulatorServer, tmp_path: Path) -> None:
    manifest = cards.generate_cards(tmp_path, 4, 4242, degraded_fraction=0.0, documents=("passport", "mykad"))
    for row in cards.read_manifest(manifest):
        image = base64.b64encode(Path(row["image_uri"]).read_bytes()).decode()
        action = row["action"]
        client = Client(engine.endpoint, engine.secret_id, engine.secret_key, action=action)
        head = {"MLIDPassportOCR": "RetImage", "MLIDCardOCR": "RetImage"}[action]
        answer = client.tc3_post({"ImageBase64": image, head: True})[1]
        assert code(answer) is None, answer
        response = answer["Response"]
        for key, value in json.loads(row["truth_fields"]).items():
            assert response[key] == value, (row["record_id"], key)
        assert response["WarnCardInfos"] == [] and response["Image"]  # the portrait, cropped
        other = "MLIDCardOCR" if action == "MLIDPassportOCR" else "MLIDPassportOCR"
        wrong = Client(engine.endpoint, engine.secret_id, engine.secret_key, action=other).tc3_post(
            {"ImageBase64": image}
        )[1]
        assert code(wrong) == {"MLIDCardOCR": "FailedOperation.NoMASIDCard"}.get(other, "FailedOperation.NoPassport")
    unlearnt = Client(engine.endpoint, engine.secret_id, engine.secret_key, action="HKIDCardOCR").tc3_post(
        {"ImageBase64": image}
    )[1]
    assert code(unlearnt) == "FailedOperation.NoHKIDCard"


def test_visual_number_settles_what_the_check_digits_cannot() -> None:
    """G and 6 (and O and 4, ...) have check values equal mod 10: only the visual zone tells them apart."""
    read = "P469201467THA8501190M2608189<<<<<<<<<<<<<<<4"
    assert documents._with_visual_number(read, "P4692014G") == "P4692014G7THA8501190M2608189<<<<<<<<<<<<<<<4"
    assert documents._with_visual_number(read, "P4692014X") == read  # not a confusion: the MRZ stands
    assert documents._with_visual_number(read, "") == read


def test_first_line_is_the_mrz_line_just_above_the_second() -> None:
    lines = [
        line("P<GBRNOT<<THIS<LINE<<<<<<<<<<<<<<<<<<<<<<<<<", 40, 100, 900),  # a stray MRZ-like line higher up
        line(LINE1, 40, 500, 900),
        line(LINE2, 40, 560, 900),
    ]
    assert documents.parse_passport(lines).fields["Surname"] == "ERIKSSON"


def test_a_letter_left_in_a_date_is_a_misread_even_when_its_check_digit_holds() -> None:
    from tencent_ocr_emulator import numbers

    born = "7408X2"  # X counts 33 in the check: a check digit can be computed for it
    line2 = "L898902C36UTO" + born + numbers.mrz_check_digit(born) + "F1204159ZE184226B<<<<<1"
    line2 += numbers.mrz_check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    assert numbers.td3_valid(line2)
    assert documents.read_line2(line2) is None
    assert documents.parse_passport([line(LINE1, 40, 500, 900), line(line2, 40, 560, 900)]).fields.get("ID") is None


@pytest.mark.parametrize(
    ("read", "name"),
    [
        ("ROSNAH BINTIISMAIL", "ROSNAH BINTI ISMAIL"),
        ("SITI AMINAHBINTI OSMAN", "SITI AMINAH BINTI OSMAN"),
        ("ALI BINOSMAN", "ALI BIN OSMAN"),
        ("NURUL BINTANG", "NURUL BINTANG"),  # a name, not BIN + TANG
        ("LIM  CHEE KEONG", "LIM CHEE KEONG"),
    ],
)
def test_mykad_names_keep_bin_and_binti_apart(read: str, name: str) -> None:
    assert documents.mykad_name(read) == name


@pytest.mark.parametrize(
    ("read", "address"),
    [
        ("NO41 JALAN AMPANG 4", "NO 41 JALAN AMPANG 4"),
        ("LORONG SETIA7 TAMAN", "LORONG SETIA 7 TAMAN"),
        ("30000IPOH PERAK", "30000 IPOH PERAK"),
        ("W.P KUALA LUMPUR", "W.P KUALA LUMPUR"),
    ],
)
def test_mykad_address_words_and_numbers_apart(read: str, address: str) -> None:
    assert documents.mykad_address(read) == address
