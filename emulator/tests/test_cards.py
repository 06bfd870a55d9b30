"""The synthetic card generator: truth manifest shape, valid IDs, determinism, fixture table."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from airflow_provider_tencent_ocr.actions.singapore_id_card import RESPONSE_FIELDS
from airflow_provider_tencent_ocr.rows import nric
from tencent_ocr_emulator import cards

pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cards.generate_cards(tmp_path_factory.mktemp("cards"), 24, 7, degraded_fraction=0.5, back_fraction=0.3)


@pytest.fixture(scope="module")
def rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_manifest_columns_in_order(manifest: Path) -> None:
    header = manifest.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [
        "record_id",
        "image_uri",
        "side",
        "degradations",
        "expected_warn_codes",
        *(f"truth_{column}" for column in RESPONSE_FIELDS.values()),
    ]
    assert manifest.name == "manifest.csv"


def test_rows_point_at_real_images(rows: list[dict[str, str]]) -> None:
    assert len(rows) == 24 and len({r["record_id"] for r in rows}) == 24
    for row in rows:
        path = Path(row["image_uri"])
        assert path.is_absolute() and path.is_file()
        assert path.read_bytes()[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")


def test_front_and_back_carry_their_own_fields(rows: list[dict[str, str]]) -> None:
    sides = {r["side"] for r in rows}
    assert sides == {"front", "back"}
    for row in rows:
        if row["side"] == "front":
            assert row["truth_address"] == row["truth_post_code"] == row["truth_date_of_issue"] == ""
            assert row["truth_en_name"] and row["truth_id_number"]
        else:
            assert row["truth_en_name"] == row["truth_id_number"] == ""
            assert row["truth_address"].endswith("SINGAPORE " + row["truth_post_code"])
            assert len(row["truth_post_code"]) == 6 and row["truth_post_code"].isdigit()


def test_ids_have_valid_check_letters(rows: list[dict[str, str]]) -> None:
    ids = [r["truth_id_number"] or r["truth_nric_code"] for r in rows]
    ids = [i for i in ids if i]
    assert ids and all(nric.is_valid(i) for i in ids)


def test_dates_sex_and_names_as_printed(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column in ("truth_birthday", "truth_date_of_issue"):
            if row[column]:
                day, month, year = row[column].split("-")
                assert len(day) == 2 and len(month) == 2 and len(year) == 4
        if row["side"] == "front":
            assert row["truth_sex"] in ("M", "F", "")
            assert row["truth_en_name"] == row["truth_en_name"].upper()
            assert row["truth_race"] == row["truth_race"].upper()


def test_degradations_and_expected_warn_codes_agree(rows: list[dict[str, str]]) -> None:
    assert any(r["degradations"] for r in rows) and any(not r["degradations"] for r in rows)
    for row in rows:
        names = [d for d in row["degradations"].split(";") if d]
        assert set(names) <= set(cards.DEGRADATIONS)
        expected = sorted({cards.DEGRADATIONS[d] for d in names} - {None})
        assert cards.expected_warn_codes(row) == expected


def test_same_seed_same_cards_other_seed_other_cards(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    again = cards.read_manifest(cards.generate_cards(tmp_path / "a", 24, 7, degraded_fraction=0.5, back_fraction=0.3))
    strip = [{k: v for k, v in r.items() if k != "image_uri"} for r in rows]
    assert [{k: v for k, v in r.items() if k != "image_uri"} for r in again] == strip
    assert [Path(r["image_uri"]).read_bytes() for r in again] == [Path(r["image_uri"]).read_bytes() for r in rows]
    other = cards.read_manifest(cards.generate_cards(tmp_path / "b", 24, 8, degraded_fraction=0.5, back_fraction=0.3))
    assert [r["truth_id_number"] for r in other] != [r["truth_id_number"] for r in rows]


def test_clean_only_and_names_with_and_without_chinese(tmp_path: Path) -> None:
    rows = cards.read_manifest(cards.generate_cards(tmp_path, 30, 3, degraded_fraction=0.0, back_fraction=0.0))
    assert all(not r["degradations"] and not r["expected_warn_codes"] for r in rows)
    assert any(r["truth_ch_name"] for r in rows) and any(not r["truth_ch_name"] for r in rows)
    assert {r["truth_race"] for r in rows} >= {"CHINESE", "MALAY", "INDIAN"}


def test_fixture_table_keys_images_by_sha256(manifest: Path, rows: list[dict[str, str]]) -> None:
    table = cards.fixture_table(manifest)
    assert len(table) == len(rows)
    for row in rows:
        entry = table[hashlib.sha256(Path(row["image_uri"]).read_bytes()).hexdigest()]
        assert all(entry["Fields"].values())  # only the non-empty fields
        if row["side"] == "front":
            assert entry["Fields"]["ID"] == row["truth_id_number"]
        assert entry["WarnCardInfos"] == cards.expected_warn_codes(row)


def test_parquet_manifest(tmp_path: Path) -> None:
    manifest = cards.generate_cards(tmp_path, 3, 1, manifest_format="parquet")
    assert manifest.name == "manifest.parquet"
    rows = cards.read_manifest(manifest)
    assert len(rows) == 3 and list(rows[0]) == cards.MANIFEST_COLUMNS
    assert len(cards.fixture_table(manifest)) == 3


def test_cli_writes_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cards.main(["--out", str(tmp_path), "--n", "2", "--seed", "5", "--clean-only"]) == 0
    assert Path(capsys.readouterr().out.strip()) == tmp_path / "manifest.csv"


# --------------------------------------------------------------------------------------------
# The broadened degradations: what they draw is what the truth declares.
# --------------------------------------------------------------------------------------------
np = pytest.importorskip("numpy")


def drawn(seed: int, side: str, profile: str) -> tuple[object, object, object]:
    import random

    settings = cards.settings_for(profile)
    rng = random.Random(seed)
    person = cards.make_person(rng, settings.extra_names)
    card, layout = (cards.draw_front if side == "front" else cards.draw_back)(rng, person, settings)
    return rng, card, layout


@pytest.mark.parametrize("shape", ["rect", "thumb", "ellipse", "note"])
@pytest.mark.parametrize("side", ["front", "back"])
def test_an_occluder_hides_whole_fields_and_leaves_the_others_untouched(shape: str, side: str) -> None:
    from dataclasses import replace

    settings = replace(cards.PROFILES["heldout"], occluders=(shape,))
    for seed in range(4):
        rng, card, layout = drawn(seed, side, "heldout")
        before = np.asarray(card).copy()
        hidden = cards._occlude(rng, card, layout, side, settings)
        after = np.asarray(card)
        assert hidden, "the chosen field is always hidden"
        for key, (x0, y0, x1, y1) in layout.boxes.items():
            box_before, box_after = before[y0:y1, x0:x1], after[y0:y1, x0:x1]
            if key in hidden:  # painted over as a whole: no pixel of the printed field is left
                assert (box_before == box_after).all(axis=2).mean() < 0.02, key
            else:
                assert (box_before == box_after).all(), key


def test_glare_over_text_stays_a_veil_and_whitens_enough_of_the_card() -> None:
    for seed in range(6):
        rng, card, layout = drawn(seed, "front", "heldout")
        before = np.asarray(card).astype(np.float32)
        cards._glare(rng, card, layout, cards.PROFILES["heldout"])
        after = np.asarray(card).astype(np.float32)
        alpha = ((after - before) / np.maximum(1.0, 255 - before)).max(axis=2)
        assert (alpha >= 0.45).mean() >= cards.GLARE_MIN_AREA * 0.9
        for x0, y0, x1, y1 in layout.boxes.values():  # the text under a reflection stays legible
            assert alpha[y0:y1, x0:x1].max(initial=0) <= cards.PROFILES["heldout"].glare_veil[1] + 0.02


def test_heldout_profile_uses_other_names_and_faces(tmp_path: Path) -> None:
    tuning = cards.read_manifest(cards.generate_cards(tmp_path / "t", 30, 11, degraded_fraction=0.0))
    heldout = cards.read_manifest(
        cards.generate_cards(tmp_path / "h", 30, 11, degraded_fraction=0.0, profile="heldout")
    )
    extra = {s for s, _ in cards._CN_SURNAMES_X} | set(cards._MALAY_FATHERS_X) | set(cards._INDIAN_FATHERS_X)
    words = lambda rows: {w for r in rows for w in r["truth_en_name"].split()}  # noqa: E731
    assert words(heldout) & extra and not words(tuning) & extra
    assert len(cards.available_faces(cards.PROFILES["heldout"])) >= 2  # at least Pillow's Aileron and Noto
    with pytest.raises(ValueError, match="profile"):
        cards.settings_for("nope")


@pytest.mark.parametrize("profile", ["tuning", "heldout"])
def test_every_degradation_declares_its_truth(profile: str) -> None:
    import io
    import random

    from PIL import Image

    for degradation in cards.DEGRADATIONS:
        card = cards.render_card(
            random.Random(degradation),
            np.random.default_rng(1),
            side="front",
            degradations=[degradation],
            profile=profile,
        )
        assert card.warn_codes == ([] if cards.DEGRADATIONS[degradation] is None else [cards.DEGRADATIONS[degradation]])
        Image.open(io.BytesIO(card.image)).verify()
        if degradation == "jpeg":
            assert card.suffix == ".jpg"
        if degradation == "occlusion":
            assert any(v == "" for k, v in card.truth.items() if k != "ChName")
        else:
            assert all(card.truth[k] for k in ("EnName", "Sex", "Birthday", "ID", "Race", "CountryOfBirth"))


def test_cli_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cards.main(["--out", str(tmp_path), "--n", "2", "--seed", "5", "--profile", "heldout"]) == 0
    assert len(cards.read_manifest(Path(capsys.readouterr().out.strip()))) == 2
