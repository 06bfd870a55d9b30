"""Passport data pages and MyKad fronts from the card generator: self-verifying truth, and the
fixture table built from a mixed manifest answering each image through its own action over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from emulator_client import Client, code

from tencent_ocr_emulator import cards, numbers
from tencent_ocr_emulator.recognisers import FixtureRecogniser
from tencent_ocr_emulator.server import EmulatorServer

pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cards.generate_cards(
        tmp_path_factory.mktemp("documents"),
        18,
        11,
        degraded_fraction=0.5,
        documents=("passport", "mykad", "singapore"),
    )


@pytest.fixture(scope="module")
def rows(manifest: Path) -> list[dict[str, str]]:
    return cards.read_manifest(manifest)


def test_mixed_manifest_names_each_rows_action(manifest: Path, rows: list[dict[str, str]]) -> None:
    assert manifest.read_text(encoding="utf-8").splitlines()[0].split(",") == cards.DOCUMENT_MANIFEST_COLUMNS
    assert [row["action"] for row in rows[:3]] == ["MLIDPassportOCR", "MLIDCardOCR", "RecognizeSingaporeIDCardOCR"]
    assert all(Path(row["image_uri"]).is_file() for row in rows)


def test_passport_truth_is_its_own_verified_mrz(rows: list[dict[str, str]]) -> None:
    passports = [json.loads(row["truth_fields"]) for row in rows if row["action"] == "MLIDPassportOCR"]
    assert len(passports) == 6
    for truth in passports:
        line1, line2 = truth["CodeSet"], truth["CodeCrc"]
        assert len(line1) == len(line2) == 44 and numbers.td3_valid(line2)
        assert line1.startswith(f"P<{truth['IssuingCountry']}") and line2.startswith(truth["ID"])
        assert line2[10:13] == truth["Nationality"] and line2[20] == truth["Sex"]
        assert line2[13:19] == dt.date.fromisoformat(truth["DateOfBirth"]).strftime("%y%m%d")
        assert line2[21:27] == dt.date.fromisoformat(truth["DateOfExpiration"]).strftime("%y%m%d")
        assert line1[5:] == numbers.mrz_name(truth["Surname"], truth["GivenName"])
        assert truth["Name"] == f"{truth['Surname']} {truth['GivenName']}"


def test_mykad_number_encodes_its_birth_date_and_sex(rows: list[dict[str, str]]) -> None:
    mykads = [json.loads(row["truth_fields"]) for row in rows if row["action"] == "MLIDCardOCR"]
    assert len(mykads) == 6
    for truth in mykads:
        number = truth["ID"]
        assert len(number) == 14 and number[6] == number[9] == "-"
        born = dt.datetime.strptime(truth["Birthday"], "%d/%m/%Y").date()
        assert number[:6] == f"{born:%y%m%d}"
        if truth["Sex"]:  # empty when an occluder hides it
            assert (int(number[-1]) % 2 == 1) == (truth["Sex"] == "LELAKI")


def test_occluders_hide_truth_only_where_it_is_printed() -> None:
    """A passport's answer comes from its MRZ, so covering the visual zone empties nothing; a
    covered MyKad sex word is empty in the truth."""
    import numpy as np

    emptied = {"passport": 0, "mykad": 0}
    for seed in range(12):
        for document in emptied:
            card = cards.render_card(
                random.Random(seed),
                np.random.default_rng(seed),
                side="front",
                degradations=["occlusion"],
                document=document,
            )
            assert card.warn_codes == [-9101]
            emptied[document] += sum(1 for value in card.truth.values() if not value)
    assert emptied["passport"] == 0 and emptied["mykad"] > 0


@pytest.fixture(scope="module")
def server(manifest: Path) -> Iterator[EmulatorServer]:
    recogniser = FixtureRecogniser(cards.fixture_table(manifest), unknown="reject")
    with EmulatorServer(recogniser=recogniser, rate_limit=1000) as emulator:
        yield emulator


def test_fixture_table_answers_each_document_through_its_action(server: EmulatorServer, rows: list[dict]) -> None:
    for row in rows:
        action = cards.row_action(row)
        image = base64.b64encode(Path(row["image_uri"]).read_bytes()).decode()
        client = Client(server.endpoint, server.secret_id, server.secret_key, action=action)
        response = client.tc3_post({"ImageBase64": image})[1]
        assert code(response) is None, (row["record_id"], response)
        for key, value in cards.truth_fields(row).items():
            got = response["Response"][key.split(".")[0]]
            assert (got["Value"] if isinstance(got, dict) else got) == value, (row["record_id"], key)
        assert response["Response"]["WarnCardInfos"] == cards.expected_warn_codes(row)
        other = "MLIDCardOCR" if action == "MLIDPassportOCR" else "MLIDPassportOCR"
        wrong = Client(server.endpoint, server.secret_id, server.secret_key, action=other).tc3_post(
            {"ImageBase64": image}
        )
        assert code(wrong[1]) in ("FailedOperation.NoMASIDCard", "FailedOperation.NoPassport")


def test_command_line_draws_the_documents_asked(tmp_path: Path) -> None:
    assert cards.main(["--out", str(tmp_path), "--n", "2", "--seed", "3", "--documents", "mykad"]) == 0
    rows = cards.read_manifest(tmp_path / "manifest.csv")
    assert [row["action"] for row in rows] == ["MLIDCardOCR", "MLIDCardOCR"]
    with pytest.raises(ValueError, match="document must be one of"):
        cards.generate_cards(tmp_path / "x", 1, 1, documents=("hkid",))


def test_mykad_names_agree_with_the_holders_sex() -> None:
    """Held-out names too: a woman is BINTI, a man BIN, and no man carries a woman's first name."""
    from tencent_ocr_emulator import document_cards

    for seed in range(200):
        person = document_cards._mykad_person(random.Random(seed), held_out=seed % 2 == 0)
        words = person["name"].split()
        assert ("BINTI" in words) <= (person["sex"] == "F") and ("BIN" in words) <= (person["sex"] == "M")
        if person["sex"] == "M":
            assert not {"ROSNAH", "DIVYA", "SITI", "NUR", "NURUL"} & set(words)
        else:
            assert not {"KHAIRUL", "SURESH", "AHMAD", "MUHAMMAD"} & set(words)
