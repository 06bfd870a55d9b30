"""The warn-code heuristics on small drawn images and stored OCR lines (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tencent_ocr_emulator.local_engine import parse, quality
from tencent_ocr_emulator.local_engine.lines import OcrLine, load_fixture

cv2 = pytest.importorskip("cv2")
np = pytest.importorskip("numpy")

FIXTURES = Path(__file__).parent / "fixtures" / "ocr_lines"
TEXTS = [("TAN WEI MING", 60), ("CHINESE", 130), ("12-04-1988", 200), ("SINGAPORE", 270)]


def drawn_card() -> tuple[np.ndarray, list[OcrLine]]:
    """A pink card on a dark desk with four lines of black text, and their boxes."""
    image = np.full((420, 720, 3), (60, 62, 70), np.uint8)
    image[20:400, 20:700] = (222, 214, 238)  # BGR: pale pink, as the front of the card
    lines = []
    for text, y in TEXTS:
        (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 3)
        cv2.putText(image, text, (200, y + h), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 15, 15), 3, cv2.LINE_AA)
        x0, y0, x1, y1 = 195, y - 4, 205 + w, y + h + base + 4
        lines.append(OcrLine(text, ((x0, y0), (x1, y0), (x1, y1), (x0, y1))))
    return image, lines


def front(missing: list[str] | None = None) -> parse.ParsedCard:
    return parse.ParsedCard(side="front", fields={}, missing=list(missing or []))


def codes(image: np.ndarray, lines: list[OcrLine], parsed: parse.ParsedCard | None = None) -> list[int]:
    return quality.warn_codes(quality.measure(image, lines), parsed or front())


def test_a_clean_card_raises_no_warning() -> None:
    image, lines = drawn_card()
    assert codes(image, lines) == []


def test_blur_is_blurry() -> None:
    image, lines = drawn_card()
    blurred = cv2.GaussianBlur(image, (0, 0), 3.0)
    assert quality.sharpness(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY), lines) < quality.SHARPNESS_MIN
    assert codes(blurred, lines) == [-9108]


def test_sharpness_does_not_depend_on_resolution() -> None:
    image, lines = drawn_card()
    big = cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    big_lines = [OcrLine(ln.text, tuple((2 * x, 2 * y) for x, y in ln.box)) for ln in lines]
    assert codes(big, big_lines) == []


def test_grey_copy_is_a_photocopy() -> None:
    image, lines = drawn_card()
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert codes(grey, lines) == [-9102]


def test_blown_out_blob_is_reflective() -> None:
    image, lines = drawn_card()
    cv2.ellipse(image, (110, 330), (60, 40), 0, 0, 360, (255, 255, 255), -1)
    assert codes(image, lines) == [-9107]


def test_small_white_specks_are_not_glare() -> None:
    image, lines = drawn_card()
    for x in range(60, 660, 60):
        cv2.circle(image, (x, 380), 2, (255, 255, 255), -1)
    assert -9107 not in codes(image, lines)


def veil(image: np.ndarray, centre: tuple[int, int], axes: tuple[int, int], peak: float) -> np.ndarray:
    """A soft reflection: the image whitened towards 255, ``peak`` at the centre, fading out."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - centre[0]) / axes[0]) ** 2 + ((yy - centre[1]) / axes[1]) ** 2)
    t = np.clip((1 - d) / 0.6, 0, 1)
    alpha = (t * t * (3 - 2 * t) * peak)[..., None]
    return (image * (1 - alpha) + 255 * alpha).astype(np.uint8)


def test_a_veil_over_the_text_is_reflective_without_any_saturated_pixel() -> None:
    image, lines = drawn_card()
    veiled = veil(image, (330, 150), (170, 90), 0.7)
    assert veiled.max() < 250  # nothing blown out: brightness alone would not see it
    assert codes(veiled, lines) == [-9107]


@pytest.mark.parametrize(
    "colour",
    [(235, 240, 240), (150, 200, 234), (90, 230, 250), (70, 60, 60)],
    ids=["white paper", "skin (thumb)", "yellow note", "dark object"],
)
def test_an_opaque_object_is_not_a_reflection(colour: tuple[int, int, int]) -> None:
    image, lines = drawn_card()
    cv2.ellipse(image, (330, 330), (150, 60), 0, 0, 360, colour, -1)
    assert -9107 not in codes(image, lines)


def test_a_reflection_on_a_colourless_copy_is_only_a_copy() -> None:
    image, lines = drawn_card()
    grey = cv2.cvtColor(cv2.cvtColor(veil(image, (110, 330), (80, 60), 1.0), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert codes(grey, lines) == [-9102]


def test_strong_jpeg_and_a_small_rotation_raise_nothing() -> None:
    image, lines = drawn_card()
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 8])
    assert ok
    assert codes(cv2.imdecode(buf, cv2.IMREAD_COLOR), lines) == []
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 4, 1.0)
    turned = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=(70, 62, 60))
    turned_lines = [OcrLine(ln.text, tuple(tuple(matrix @ np.array([x, y, 1.0])) for x, y in ln.box)) for ln in lines]
    assert codes(turned, turned_lines) == []


def test_a_card_with_missing_fields_is_covered() -> None:
    image, lines = drawn_card()
    assert codes(image, lines, front(["Race"])) == [-9101]


def test_card_region_takes_in_the_portrait_left_of_the_text() -> None:
    image, lines = drawn_card()
    x0, y0, x1, y1 = quality.card_region(image.shape, lines)
    assert x0 < 195 - 50 and x1 <= 720 and y1 <= 420


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("front_clean_chname", []),
        ("front_occluded", [-9101]),
        ("back_occluded", [-9101]),
        ("front_blur_labels_lost", []),
    ],
)
def test_covered_comes_from_the_parse_of_stored_lines(name: str, expected: list[int]) -> None:
    parsed = parse.parse_lines(load_fixture(FIXTURES / f"{name}.json")["lines"])
    measures = quality.Quality(sharpness=1.0, chroma=10.0, reflection=0.0)
    assert quality.warn_codes(measures, parsed) == expected


def test_codes_that_cannot_be_judged_offline_are_never_emitted() -> None:
    worst = quality.Quality(sharpness=0.0, chroma=5.0, reflection=0.01)
    got = quality.warn_codes(worst, front(["Race"]))
    assert got == [-9107, -9108]  # on a blurred card the missing Race is put down to the blur
    sharp = quality.Quality(sharpness=2.0, chroma=5.0, reflection=0.01)
    assert quality.warn_codes(sharp, front(["Race"])) == [-9101, -9107]
    copy = quality.Quality(sharpness=2.0, chroma=0.0, reflection=0.01)
    assert quality.warn_codes(copy, front(["Race"])) == [-9101, -9102]
    assert -9103 not in got and -9104 not in got


def test_a_field_printed_but_unreadable_is_not_covered() -> None:
    measures = quality.Quality(sharpness=2.0, chroma=10.0, reflection=0.0)
    unreadable = parse.ParsedCard(side="front", missing=["Sex"], unreadable=["Sex"])
    assert quality.warn_codes(measures, unreadable) == []
    both = parse.ParsedCard(side="front", missing=["Race", "Sex"], unreadable=["Sex"])
    assert quality.warn_codes(measures, both) == [-9101]
    blurred = quality.Quality(sharpness=0.1, chroma=10.0, reflection=0.0)
    assert quality.warn_codes(blurred, both) == [-9108]


def test_a_strongly_compressed_colour_card_is_not_a_photocopy() -> None:
    image, lines = drawn_card()
    cv2.rectangle(image, (40, 40), (170, 380), (90, 140, 200), -1)  # the portrait: skin-coloured
    pale = image.copy()
    pale[(image == (222, 214, 238)).all(axis=2)] = (226, 226, 226)  # JPEG quantised the pale tint away
    assert -9102 not in codes(pale, lines)


def test_motion_blur_is_blurry_though_one_direction_stays_sharp() -> None:
    image, lines = drawn_card()
    kernel = np.zeros((1, 13), np.float32)
    kernel[0, :] = 1 / 13  # camera shake along the text rows
    shaken = cv2.filter2D(image, -1, kernel)
    assert codes(shaken, lines) == [-9108]
