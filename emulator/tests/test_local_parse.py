"""The local engine's parser on stored OCR lines (no model): fields, sides, ID correction."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tencent_ocr.rows import nric
from tencent_ocr_emulator.local_engine import parse
from tencent_ocr_emulator.local_engine.lines import OcrLine, load_fixture

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "ocr_lines").glob("*.json"))


def line(text: str, x: float, y: float, w: float = 200, h: float = 34) -> OcrLine:
    return OcrLine(text, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_fixture_fields_match_the_card(path: Path) -> None:
    fixture = load_fixture(path)
    parsed = parse.parse_lines(fixture["lines"])
    assert parsed.side == fixture["side"]
    assert parsed.fields == fixture["expected_fields"]


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("front_clean_chname", []),
        ("front_blur_labels_lost", []),  # labels unreadable: values found by their place
        ("front_occluded", ["Race"]),
        ("back_clean", []),
        ("back_occluded", ["DateOfIssue"]),
    ],
)
def test_missing_required_fields_are_reported(name: str, missing: list[str]) -> None:
    parsed = parse.parse_lines(load_fixture(Path(__file__).parent / "fixtures" / "ocr_lines" / f"{name}.json")["lines"])
    assert parsed.missing == missing


def test_front_photo_box_is_left_of_the_values() -> None:
    fixture = load_fixture(Path(__file__).parent / "fixtures" / "ocr_lines" / "front_clean_chname.json")
    parsed = parse.parse_lines(fixture["lines"])
    assert parsed.photo_box is not None
    x0, y0, x1, y1 = parsed.photo_box
    name = next(ln for ln in fixture["lines"] if ln.text == "Name")
    assert x1 < name.left and y1 > y0 and x1 > x0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IDENTITY CARD NO. S1234567D", "S1234567D"),
        ("$1234567D", "S1234567D"),  # $ read for the prefix S
        ("51234567D", "S1234567D"),  # 5 read for the prefix S
        ("S12345670", "S1234567D"),  # 0 read for the check letter D
        ("S1234S67D", "S1234567D"),  # S read for the digit 5
        ("S12O4567D", ""),  # O->0 gives S1204567, whose check letter is not D: no valid reading
        ("T0I23456G", "T0123456G"),
        ("F 1234567 N", "F1234567N"),
        ("M1234567K", "M1234567K"),
    ],
)
def test_id_correction_uses_the_check_letter(text: str, expected: str) -> None:
    found, _ = parse.find_id([line(text, 0, 0)])
    if expected:
        assert found == expected and nric.is_valid(found)
    else:
        assert not nric.is_valid(found)


def test_an_unchecked_id_is_returned_as_read_when_nothing_validates() -> None:
    found, index = parse.find_id([line("NO. S1234567A", 0, 0)])
    assert (found, index) == ("S1234567A", 0)


def test_fewest_corrections_win_over_a_later_reading() -> None:
    lines = [line("S1234S67D", 0, 0), line("S1234567D", 0, 50)]
    assert parse.find_id(lines) == ("S1234567D", 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-04-1988", "12-04-1988"),
        ("I2-O4-1988", "12-04-1988"),
        ("12 - 04 -1988", "12-04-1988"),
        ("31-13-1988", ""),
        ("NO DATE", ""),
    ],
)
def test_dates_are_read_as_printed(text: str, expected: str) -> None:
    assert parse.parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TAN WEI M1NG", "TAN WEI MING"),
        ("RAJESH S / O KUMAR", "RAJESH S/O KUMAR"),
        ("HASSAN ZULKIFLIBIN SALLEH", "HASSAN ZULKIFLI BIN SALLEH"),
        ("ROBIN TAN", "ROBIN TAN"),
        ("  D'CRUZ ,", "D'CRUZ"),
    ],
)
def test_latin_values_are_cleaned(text: str, expected: str) -> None:
    assert parse.clean_latin(text) == expected


def test_labels_are_matched_fuzzily_but_values_are_not_labels() -> None:
    assert parse.match_labels("Date of birth", parse.FRONT_LABELS) == ["dateofbirth"]
    assert parse.match_labels("Date 0f birth", parse.FRONT_LABELS) == ["dateofbirth"]
    assert parse.match_labels("Date of birth        Sex", parse.FRONT_LABELS) == ["dateofbirth", "sex"]
    assert parse.match_labels("Country/Place of birth", parse.FRONT_LABELS) == ["countryplaceofbirth"]
    assert parse.match_labels("GRACE TAN", parse.FRONT_LABELS) == []
    assert parse.match_labels("SINGAPORE", parse.FRONT_LABELS) == []


def test_merged_date_and_sex_line_is_split() -> None:
    lines = [
        line("IDENTITY CARD NO. S1234567D", 500, 100, 400),
        line("Name", 300, 150, 60, 25),
        line("TAN WEI MING", 300, 176, 300),
        line("Race", 300, 290, 60, 25),
        line("CHINESE", 300, 316),
        line("Date of birth          Sex", 300, 380, 380, 25),
        line("12-04-1988         M", 300, 406, 380),
        line("Country/Place of birth", 300, 470, 250, 25),
        line("SINGAPORE", 300, 496),
    ]
    parsed = parse.parse_lines(lines)
    assert parsed.fields == {
        "ID": "S1234567D",
        "EnName": "TAN WEI MING",
        "Race": "CHINESE",
        "Birthday": "12-04-1988",
        "Sex": "M",
        "CountryOfBirth": "SINGAPORE",
    }
    assert parsed.missing == []


def test_rotated_card_is_deskewed() -> None:
    fixture = load_fixture(Path(__file__).parent / "fixtures" / "ocr_lines" / "front_clean_no_chname.json")
    turned = [ln.rotated(0.1, (500.0, 300.0)) for ln in fixture["lines"]]  # about 6 degrees
    assert parse.parse_lines(turned).fields == fixture["expected_fields"]


def test_no_card_text_is_no_card() -> None:
    assert parse.parse_lines([]).side is None
    assert parse.parse_lines([line("HELLO WORLD", 0, 0), line("Lorem ipsum", 0, 60)]).side is None


def test_importing_the_engine_package_loads_no_ocr_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import tencent_ocr_emulator.local_engine as m; "
        "assert m.LocalRecogniser; "
        "print(sorted(k for k in ('rapidocr', 'onnxruntime', 'cv2') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from tencent_ocr_emulator.local_engine import LocalRecogniser

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "rapidocr" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install 'airflow-provider-tencent-ocr\[local\]'"):
        LocalRecogniser()


def test_a_re_read_name_only_restores_lost_spaces() -> None:
    fixture = load_fixture(Path(__file__).parent / "fixtures" / "ocr_lines" / "front_clean_chname.json")
    parsed = parse.parse_lines(fixture["lines"])
    assert parsed.name_probe is not None
    glued = parse.ParsedCard("front", {**parsed.fields, "EnName": "CHUAHAO"})
    assert parse.with_name(glued, "CHUA HAO").fields["EnName"] == "CHUA HAO"
    assert parse.with_name(glued, "CHUA HAD").fields["EnName"] == "CHUAHAO"  # other letters: keep the first
    spaced = parse.ParsedCard("front", {"EnName": "CHUA HAO"})
    assert parse.with_name(spaced, "CHUAHAO").fields["EnName"] == "CHUA HAO"


@pytest.mark.parametrize(
    ("text", "vocabulary", "expected"),
    [
        ("MAY", parse.RACES, "MALAY"),  # blur merged letters
        ("CHINESF", parse.RACES, "CHINESE"),
        ("INDIA", parse.RACES, "INDIAN"),  # last letter lost
        ("INDIAN", parse.RACES, "INDIAN"),
        ("MALAYSLA", parse.COUNTRIES, "MALAYSIA"),
        ("HONGKONG", parse.COUNTRIES, "HONG KONG"),  # the space lost
        ("KADAZAN", parse.RACES, "KADAZAN"),  # unknown and unlike any entry: kept as read
        ("", parse.RACES, ""),
    ],
)
def test_race_and_country_snap_to_the_printed_vocabulary(text: str, vocabulary: tuple[str, ...], expected: str) -> None:
    assert parse.snap(text, vocabulary) == expected


def test_snap_refuses_a_coin_toss_between_two_entries() -> None:
    assert parse.snap("AUSTRIA", ("AUSTRALIA", "AUSTRIAN")) == "AUSTRIA"


def fixture(name: str) -> dict:
    return load_fixture(Path(__file__).parent / "fixtures" / "ocr_lines" / f"{name}.json")


def test_an_undetected_sex_is_re_read_right_under_its_label() -> None:
    lines = fixture("front_rotated_sex_under_label")["lines"]
    parsed = parse.parse_lines(lines)
    label = next(ln for ln in lines if ln.text == "Sex")
    assert parsed.missing == ["Sex"] and parsed.unreadable == []
    x0, y0, x1, y1 = parsed.sex_probe
    assert x0 < label.left and x1 > label.right and label.bottom - 5 <= y0 < label.bottom < y1
    assert parse.with_sex(parsed, "F").fields["Sex"] == "F"
    assert parse.with_sex(parsed, "Sex F").fields["Sex"] == "F"  # the probe took in the label too
    assert "Sex" not in parse.with_sex(parsed, "Sex").fields


def test_a_printed_but_unreadable_sex_is_not_a_covered_field() -> None:
    parsed = parse.parse_lines(fixture("front_motion_blur_sex_unreadable")["lines"])
    assert parsed.missing == ["Sex"] and parsed.unreadable == ["Sex"]  # "L": a blurred F


def test_without_its_label_a_missing_sex_may_be_covered() -> None:
    lines = [ln for ln in fixture("front_motion_blur_sex_unreadable")["lines"] if ln.text not in ("SeX", "L")]
    parsed = parse.parse_lines(lines)
    assert parsed.missing == ["Sex"] and parsed.unreadable == []
    assert parse.with_sex(parsed, "1").unreadable == []  # an occluder's edge read as text proves nothing


def test_a_garbled_label_is_not_taken_for_a_value() -> None:
    lines = [
        line("S1234567D", 600, 100),
        line("TAN WEI MING", 300, 180),
        line("CHINESE", 300, 290),
        line("12-04-1988", 300, 380),
        line("F", 620, 380, w=30),
        line("GOUMAY/PLAGG OF DA", 300, 450, h=20),  # "Country/Place of birth", blurred
        line("SINGAPORE", 300, 480),
    ]
    parsed = parse.parse_lines(lines)
    assert parsed.fields["CountryOfBirth"] == "SINGAPORE"
    assert parsed.fields["Race"] == "CHINESE" and parsed.fields["Sex"] == "F"


def test_address_words_and_numbers_kept_apart_and_labels_left_out() -> None:
    lines = [
        line("Date of issue", 320, 60, h=21),
        line("17-04-2025", 320, 86),
        line("ALDF00", 320, 172, h=21),  # "Address", blurred
        line("28 WOODLANDS DRIVE14", 320, 198, w=420),
        line("SINGAPORE 730028", 320, 244, w=300),
        line("S9190831Z", 560, 440),
    ]
    parsed = parse.parse_lines(lines)
    assert parsed.side == "back"
    assert parsed.fields["Address"] == "28 WOODLANDS DRIVE 14 SINGAPORE 730028"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BLK 47 BEDOKNORTH ROAD", "BLK 47 BEDOK NORTH ROAD"),
        ("BUKIT BATOKWEST AVENUE6", "BUKIT BATOK WEST AVENUE 6"),
        ("NORTH BRIDGE ROAD", "NORTH BRIDGE ROAD"),
        ("BLK 12A ANG MO KIO AVENUE 3", "BLK 12A ANG MO KIO AVENUE 3"),
        ("# 05 - 213", "#05-213"),
    ],
)
def test_address_lines_keep_their_word_breaks(text: str, expected: str) -> None:
    assert parse._address_text(text) == expected
