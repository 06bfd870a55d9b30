"""Synthetic Singapore ID cards with a truth manifest, so the local OCR engine can be measured.

``python -m tencent_ocr_emulator.cards --out DIR --n N --seed S`` writes card
images (front and back, clean and degraded) and ``manifest.csv``: a valid operator manifest
(``record_id``, ``image_uri``) that also carries the truth of every response field
(``truth_<column>``), the degradations applied and the warn codes a reader should raise.

The truth is what is legible on the image: a field hidden by an occlusion has an empty truth.
Everything is derived from the seed, so the same seed gives the same cards. Fonts come from the
``manimgx-fonts-cjk`` package (Noto Sans CJK) or Debian's ``fonts-noto-cjk``; nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from tencent_ocr_emulator import nric
from tencent_ocr_emulator.recognisers import fixture_entry

CARD_W, CARD_H = 1000, 630
# Response field -> the name of its truth column (``truth_<name>``); the names are the provider's
# output columns, so a truth manifest lines up with the operator's Parquet for scoring.
TRUTH_NAMES: dict[str, str] = {
    "ChName": "ch_name",
    "EnName": "en_name",
    "Sex": "sex",
    "CountryOfBirth": "country_of_birth",
    "Birthday": "birthday",
    "Address": "address",
    "ID": "id_number",
    "Race": "race",
    "NRICCode": "nric_code",
    "PostCode": "post_code",
    "DateOfExpiration": "date_of_expiration",
    "DateOfIssue": "date_of_issue",
}
TRUTH_COLUMNS = [f"truth_{column}" for column in TRUTH_NAMES.values()]
MANIFEST_COLUMNS = ["record_id", "image_uri", "side", "degradations", "expected_warn_codes", *TRUTH_COLUMNS]

# Degradation -> the warn code a reader should raise for it (None: no warning expected).
DEGRADATIONS: dict[str, int | None] = {
    "blur": -9108,
    "photocopy": -9102,
    "glare": -9107,
    "occlusion": -9101,
    "jpeg": None,
    "rotation": None,
    "perspective": None,
}
_SECONDARY = ("jpeg", "rotation", "perspective")

_DEBIAN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)

# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------
# fmt: off
_CN_SURNAMES = [
    ("TAN", "陈"), ("LIM", "林"), ("LEE", "李"), ("NG", "黄"), ("ONG", "王"), ("WONG", "黄"),
    ("GOH", "吴"), ("CHUA", "蔡"), ("CHAN", "曾"), ("KOH", "许"), ("TEO", "张"), ("ANG", "洪"),
    ("YEO", "杨"), ("LOW", "刘"), ("SIM", "沈"), ("CHONG", "张"), ("HO", "何"), ("TAY", "郑"),
    ("LAU", "刘"), ("CHEW", "周"), ("YAP", "叶"), ("SEAH", "佘"), ("PHUA", "潘"), ("QUEK", "郭"),
]
_CN_GIVEN = [
    ("WEI", "伟"), ("MING", "明"), ("HUI", "慧"), ("LING", "玲"), ("JIA", "佳"), ("XIN", "欣"),
    ("KAI", "凯"), ("JUN", "俊"), ("YI", "怡"), ("HAO", "浩"), ("MEI", "美"), ("LI", "丽"),
    ("ZHI", "志"), ("HONG", "宏"), ("YONG", "勇"), ("XIANG", "翔"), ("QIAN", "倩"), ("WEN", "文"),
    ("JIE", "杰"), ("SHAN", "珊"), ("YU", "宇"), ("HUA", "华"), ("CHENG", "成"), ("FENG", "峰"),
]
_MALAY_MALE = ["AHMAD", "MUHAMMAD", "ISMAIL", "HASSAN", "RAZALI", "FAIZAL", "HAFIZ", "IRFAN", "ZULKIFLI"]
_MALAY_FEMALE = ["NUR", "SITI", "AISYAH", "FARAH", "NURUL", "ZARINA", "HALIMAH", "AMIRA", "SYAFIQAH"]
_MALAY_FATHERS = ["RAHMAN", "OSMAN", "YUSOF", "HAMID", "SALLEH", "IBRAHIM", "KASSIM", "JAMIL", "ARIFFIN"]
_INDIAN_MALE = ["RAJESH", "KUMAR", "SURESH", "ARUN", "VIJAY", "PRAKASH", "GANESH", "KARTHIK", "RAVI"]
_INDIAN_FEMALE = ["PRIYA", "DEVI", "LAKSHMI", "KAVITHA", "MEENA", "ANITHA", "SHALINI", "REVATHI"]
_INDIAN_FATHERS = ["SUBRAMANIAM", "RAMASAMY", "KRISHNAN", "NAIR", "PILLAI", "MUTHU", "GOVINDASAMY"]
_OTHER_FIRST_M = ["DANIEL", "JOHN", "MICHAEL", "ADRIAN", "MARCUS", "KEVIN", "PATRICK", "JOSE"]
_OTHER_FIRST_F = ["SARAH", "MARIA", "CLAIRE", "JESSICA", "NATALIE", "ANNA", "GRACE", "ROSE"]
_OTHER_LAST = ["DE SOUZA", "PEREIRA", "FERNANDEZ", "SCHOOLING", "D'CRUZ", "RODRIGUES", "CARVALHO", "SMITH"]
_OTHER_RACES = ["EURASIAN", "FILIPINO", "CAUCASIAN", "JAPANESE", "THAI"]
_COUNTRIES = ["SINGAPORE", "MALAYSIA", "CHINA", "INDIA", "INDONESIA", "PHILIPPINES", "HONG KONG", "THAILAND"]
_STREETS = [
    ("ANG MO KIO AVENUE 3", "56"), ("BEDOK NORTH ROAD", "46"), ("TAMPINES STREET 21", "52"),
    ("JURONG WEST STREET 42", "64"), ("CLEMENTI AVENUE 2", "12"), ("TOA PAYOH LORONG 1", "31"),
    ("YISHUN RING ROAD", "76"), ("WOODLANDS DRIVE 14", "73"), ("HOUGANG AVENUE 8", "53"),
    ("BUKIT BATOK WEST AVENUE 6", "65"), ("PASIR RIS DRIVE 3", "51"), ("SERANGOON NORTH AVENUE 1", "55"),
    ("SENGKANG EAST WAY", "54"), ("PUNGGOL FIELD", "82"), ("BISHAN STREET 13", "57"),
    ("MARINE PARADE ROAD", "44"), ("QUEENSWAY", "14"), ("CHOA CHU KANG AVENUE 4", "68"),
]
# fmt: on


@dataclass
class Person:
    """Everything a card can carry, in the service's field names."""

    fields: dict[str, str]


def _date(value: dt.date) -> str:
    return value.strftime("%d-%m-%Y")


def _random_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))


def _make_id(rng: random.Random, born: dt.date, race: str, country: str) -> str:
    foreigner = country != "SINGAPORE" and rng.random() < 0.5
    if foreigner:
        prefix = rng.choice("FG" if born.year < 2000 else "GM")
    else:
        prefix = "S" if born.year < 2000 else "T"
    digits = f"{born.year % 100:02d}" if prefix in "ST" else ""
    digits += "".join(rng.choice("0123456789") for _ in range(7 - len(digits)))
    return prefix + digits + nric.check_letter(prefix, digits)


def make_person(rng: random.Random) -> Person:
    """A random resident: Chinese (often with a Chinese name), Malay, Indian or other."""
    sex = rng.choice("MF")
    group = rng.choices(["chinese", "malay", "indian", "other"], weights=[5, 2, 2, 1])[0]
    ch_name = ""
    if group == "chinese":
        surname, surname_cn = rng.choice(_CN_SURNAMES)
        given = rng.sample(_CN_GIVEN, rng.choice([1, 2, 2, 2]))
        en = " ".join([surname] + [g[0] for g in given])
        if rng.random() < 0.25:  # a Western first name in front, common in Singapore
            en = f"{rng.choice(_OTHER_FIRST_M if sex == 'M' else _OTHER_FIRST_F)} {en}"
        if rng.random() < 0.75:
            ch_name = surname_cn + "".join(g[1] for g in given)
        race = "CHINESE"
    elif group == "malay":
        first = rng.choice(_MALAY_MALE if sex == "M" else _MALAY_FEMALE)
        if rng.random() < 0.4:
            first += " " + rng.choice(_MALAY_MALE if sex == "M" else _MALAY_FEMALE)
        en = f"{first} {'BIN' if sex == 'M' else 'BINTE'} {rng.choice(_MALAY_FATHERS)}"
        race = "MALAY"
    elif group == "indian":
        first = rng.choice(_INDIAN_MALE if sex == "M" else _INDIAN_FEMALE)
        en = f"{first} {'S/O' if sex == 'M' else 'D/O'} {rng.choice(_INDIAN_FATHERS)}"
        race = "INDIAN"
    else:
        first = rng.choice(_OTHER_FIRST_M if sex == "M" else _OTHER_FIRST_F)
        en = f"{first} {rng.choice(_OTHER_LAST)}"
        race = rng.choice(_OTHER_RACES)
    born = _random_date(rng, dt.date(1940, 1, 1), dt.date(2010, 12, 31))
    country = "SINGAPORE" if rng.random() < 0.6 else rng.choice(_COUNTRIES[1:])
    id_number = _make_id(rng, born, race, country)
    street, sector = rng.choice(_STREETS)
    block = rng.randint(1, 999)
    postcode = f"{sector}{block:04d}" if rng.random() < 0.7 else f"{sector}{rng.randint(0, 9999):04d}"
    lines = [f"BLK {block} {street}" if rng.random() < 0.8 else f"{block} {street}"]
    if lines[0].startswith("BLK"):
        lines.append(f"#{rng.randint(2, 25):02d}-{rng.randint(1, 999):03d}")
    lines.append(f"SINGAPORE {postcode}")
    issued = _random_date(rng, max(born + dt.timedelta(days=15 * 366), dt.date(1995, 1, 1)), dt.date(2025, 6, 30))
    return Person(
        fields={
            "ChName": ch_name,
            "EnName": en,
            "Sex": sex,
            "CountryOfBirth": country,
            "Birthday": _date(born),
            "Address": " ".join(lines),
            "ID": id_number,
            "Race": race,
            "NRICCode": id_number,
            "PostCode": postcode,
            "DateOfExpiration": "",
            "DateOfIssue": _date(issued),
            "_address_lines": "\n".join(lines),
        }
    )


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------
def font_path() -> tuple[str, int]:
    """The Noto Sans CJK file and the face index of its Simplified Chinese face."""
    try:
        from importlib.resources import files

        candidate = files("manimgx_fonts_cjk") / "NotoSansCJK-VF.otf.ttc"
        if candidate.is_file():
            return str(candidate), 2
    except ModuleNotFoundError:
        pass
    for path in _DEBIAN_FONTS:
        if Path(path).is_file():
            return path, 2
    raise ImportError(
        "no CJK font found: pip install 'airflow-provider-tencent-ocr[local]' (brings manimgx-fonts-cjk) "
        "or apt-get install fonts-noto-cjk"
    )


@lru_cache(maxsize=64)
def _font(size: int, weight: int) -> Any:
    from PIL import ImageFont

    path, index = font_path()
    font = ImageFont.truetype(path, size, index=index)
    try:
        font.set_variation_by_axes([weight])
    except (OSError, ValueError):  # a static (non-variable) face: use it as it is
        pass
    return font


@dataclass
class _Layout:
    """Where each field was drawn on the card (label and value boxes), for occlusion."""

    boxes: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)


def _text(
    draw: Any,
    xy: tuple[int, int],
    text: str,
    size: int,
    weight: int,
    fill: tuple[int, int, int],
    max_width: int | None = None,
) -> tuple[int, int, int, int]:
    font = _font(size, weight)
    while max_width is not None and size > 18 and draw.textlength(text, font=font) > max_width:
        size -= 2
        font = _font(size, weight)
    draw.text(xy, text, font=font, fill=fill)
    return draw.textbbox(xy, text, font=font)


def _union(*boxes: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _card_base(rng: random.Random, tint: tuple[int, int, int]) -> Any:
    from PIL import Image, ImageDraw

    card = Image.new("RGB", (CARD_W, CARD_H), tint)
    draw = ImageDraw.Draw(card)
    line = tuple(max(0, c - 18) for c in tint)
    phase = rng.uniform(0, math.tau)
    for k in range(0, CARD_H + 40, 26):  # guilloche-like waves, as on the real card's background
        points = [(x, k + 9 * math.sin(x / 47 + phase + k / 60)) for x in range(0, CARD_W + 20, 20)]
        draw.line(points, fill=line, width=1)
    return card


def _portrait(rng: random.Random, size: tuple[int, int]) -> Any:
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.new("RGB", size, (200 + rng.randint(-15, 15), 215, 235))
    draw = ImageDraw.Draw(img)
    skin = rng.choice([(234, 200, 170), (200, 160, 120), (150, 105, 75), (240, 215, 190)])
    shirt = rng.choice([(40, 50, 90), (230, 230, 230), (90, 30, 30), (30, 80, 60)])
    draw.ellipse((w * 0.05, h * 0.72, w * 0.95, h * 1.3), fill=shirt)
    draw.ellipse((w * 0.28, h * 0.18, w * 0.72, h * 0.68), fill=skin)
    draw.chord((w * 0.26, h * 0.12, w * 0.74, h * 0.5), 180, 360, fill=(30, 25, 20))
    return img


def _jitter(rng: random.Random, amount: int = 8) -> int:
    return rng.randint(-amount, amount)


def draw_front(rng: random.Random, person: Person) -> tuple[Any, _Layout]:
    """The front: header, ID number, portrait, and the labelled fields beside it."""
    from PIL import ImageDraw

    card = _card_base(rng, (238 + _jitter(rng, 4), 214 + _jitter(rng, 6), 222 + _jitter(rng, 6)))
    draw = ImageDraw.Draw(card)
    label_c, value_c = (60, 60, 110), (15, 15, 20)
    f = person.fields
    layout = _Layout()
    dx, dy = _jitter(rng, 12), _jitter(rng, 10)
    ls, vs = 21 + _jitter(rng, 1), 34 + _jitter(rng, 2)
    _text(draw, (40 + dx, 28 + dy), "REPUBLIC OF SINGAPORE", 40, 700, (150, 20, 40))
    lab = _text(draw, (470 + dx, 100 + dy), "IDENTITY CARD NO.", ls, 400, label_c)
    val = _text(draw, (lab[2] + 18, 92 + dy), f["ID"], vs, 700, value_c)
    layout.boxes["ID"] = _union(lab, val)
    card.paste(_portrait(rng, (230, 290)), (40 + dx, 150 + dy))
    x = 300 + dx
    lab = _text(draw, (x, 150 + dy), "Name", ls, 400, label_c)
    val = _text(draw, (x, 176 + dy), f["EnName"], vs, 700, value_c, max_width=CARD_W - x - 30)
    layout.boxes["EnName"] = _union(lab, val)
    if f["ChName"]:
        layout.boxes["ChName"] = _text(draw, (x, 222 + dy), f["ChName"], vs + 2, 700, value_c)
    for key, label, (px, py) in (
        ("Race", "Race", (x, 290)),
        ("Birthday", "Date of birth", (x, 380)),
        ("Sex", "Sex", (x + 320 + _jitter(rng, 10), 380)),
        ("CountryOfBirth", "Country/Place of birth", (x, 470)),
    ):
        lab = _text(draw, (px, py + dy), label, ls, 400, label_c)
        val = _text(draw, (px, py + 26 + dy), f[key], vs, 700, value_c)
        layout.boxes[key] = _union(lab, val)
    return card, layout


def draw_back(rng: random.Random, person: Person) -> tuple[Any, _Layout]:
    """The back: thumbprint, date of issue, the address block, and the ID over a barcode."""
    from PIL import ImageDraw

    card = _card_base(rng, (222 + _jitter(rng, 5), 228 + _jitter(rng, 5), 240 + _jitter(rng, 4)))
    draw = ImageDraw.Draw(card)
    label_c, value_c = (60, 60, 110), (15, 15, 20)
    f = person.fields
    layout = _Layout()
    dx, dy = _jitter(rng, 12), _jitter(rng, 10)
    ls, vs = 21 + _jitter(rng, 1), 32 + _jitter(rng, 2)
    for k in range(12):  # a thumbprint: concentric ridges
        draw.ellipse(
            (60 + dx + 7 * k, 70 + dy + 9 * k, 250 + dx - 7 * k, 320 + dy - 9 * k), outline=(120, 110, 130), width=2
        )
    x = 320 + dx
    lab = _text(draw, (x, 60 + dy), "Date of issue", ls, 400, label_c)
    val = _text(draw, (x, 86 + dy), f["DateOfIssue"], vs, 700, value_c)
    layout.boxes["DateOfIssue"] = _union(lab, val)
    lab = _text(draw, (x, 170 + dy), "Address", ls, 400, label_c)
    boxes = [lab]
    for i, line in enumerate(f["_address_lines"].split("\n")):
        boxes.append(_text(draw, (x, 198 + 46 * i + dy), line, vs, 700, value_c, max_width=CARD_W - x - 30))
    layout.boxes["Address"] = _union(*boxes)
    val = _text(draw, (560 + dx, 440 + dy), f["NRICCode"], vs, 700, value_c)
    layout.boxes["NRICCode"] = val
    bx = 520 + dx
    while bx < 960 + dx:  # barcode
        w = rng.choice([2, 3, 5])
        draw.rectangle((bx, 500 + dy, bx + w, 580 + dy), fill=(20, 20, 20))
        bx += w + rng.choice([2, 4, 6])
    return card, layout


# --------------------------------------------------------------------------------------------
# Degradations (each really alters the pixels the reader sees)
# --------------------------------------------------------------------------------------------
def _occlude(rng: random.Random, card: Any, layout: _Layout, side: str) -> str:
    """Cover one field (label and value) with an opaque object; returns the hidden field."""
    from PIL import ImageDraw

    keys = ["Race", "Birthday", "Sex", "CountryOfBirth"] if side == "front" else ["DateOfIssue", "NRICCode"]
    key = rng.choice(keys)
    x0, y0, x1, y1 = layout.boxes[key]
    pad = 10
    colour = rng.choice([(225, 180, 150), (60, 60, 70), (250, 230, 90), (180, 190, 200)])
    ImageDraw.Draw(card).rounded_rectangle(
        (x0 - pad - rng.randint(0, 20), y0 - pad, x1 + pad + rng.randint(0, 30), y1 + pad), radius=14, fill=colour
    )
    return key


def _glare(rng: random.Random, card: Any, side: str) -> None:
    """A blown-out reflection: a saturated white core in a soft halo, over the card's plain areas."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(card).astype(np.float32)
    if side == "front":
        cx, cy = rng.choice([(155, 300), (170, 380), (760, 260), (880, 560), (150, 560)])
    else:
        cx, cy = rng.choice([(155, 200), (155, 420), (160, 560), (850, 120)])
    cx += rng.randint(-25, 25)
    cy += rng.randint(-20, 20)
    rx, ry = rng.randint(55, 85), rng.randint(35, 60)
    yy, xx = np.mgrid[0:CARD_H, 0:CARD_W]
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    alpha = np.clip(1.6 - d, 0, 1)[..., None]  # 1 in the core (d < 0.6), fading out by d = 1.6
    arr = arr * (1 - alpha) + 255 * alpha
    card.paste(Image.fromarray(arr.astype(np.uint8)))


def _photocopy(rng: random.Random, img: Any, nprng: Any) -> Any:
    """Grey copy: no chroma, raised contrast, toner noise."""
    import numpy as np
    from PIL import Image, ImageOps

    grey = ImageOps.autocontrast(img.convert("L"), cutoff=1)
    arr = np.asarray(grey).astype(np.float32) * rng.uniform(0.9, 1.0) + nprng.normal(0, 6, grey.size[::-1])
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGB")


def _place(rng: random.Random, card: Any, nprng: Any) -> Any:
    """Put the card on a desk-coloured background with a random margin (layout jitter)."""
    import numpy as np
    from PIL import Image

    mx, my = rng.randint(25, 80), rng.randint(25, 80)
    w, h = CARD_W + mx + rng.randint(25, 80), CARD_H + my + rng.randint(25, 80)
    base = np.array(rng.choice([(90, 70, 55), (60, 62, 70), (120, 110, 95), (45, 60, 50)]), dtype=np.float32)
    noise = nprng.normal(0, 5, (h, w, 1)).astype(np.float32)
    bg = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
    bg.paste(card, (mx, my))
    return bg


def _perspective(rng: random.Random, img: Any) -> Any:
    from PIL import Image

    w, h = img.size
    k = 0.05
    src = [
        (rng.uniform(0, k) * w, rng.uniform(0, k) * h),
        (w - rng.uniform(0, k) * w, rng.uniform(0, k) * h),
        (w - rng.uniform(0, k) * w, h - rng.uniform(0, k) * h),
        (rng.uniform(0, k) * w, h - rng.uniform(0, k) * h),
    ]
    dst = [(0, 0), (w, 0), (w, h), (0, h)]
    coeffs = _perspective_coeffs(dst, src)
    return img.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC, fillcolor=(70, 70, 70))


def _perspective_coeffs(dst: list[tuple[float, float]], src: list[tuple[float, float]]) -> list[float]:
    import numpy as np

    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array([c for p in src for c in p], dtype=np.float64)
    return list(np.linalg.solve(np.array(rows, dtype=np.float64), b))


def _choose_degradations(rng: random.Random) -> list[str]:
    primary = rng.choice(list(DEGRADATIONS))
    chosen = [primary]
    if rng.random() < 0.35:
        extra = rng.choice([d for d in _SECONDARY if d != primary])
        chosen.append(extra)
    return chosen


@dataclass
class Card:
    """One rendered image and its truth."""

    image: bytes
    suffix: str
    side: str
    degradations: list[str]
    warn_codes: list[int]
    truth: dict[str, str]


def render_card(rng: random.Random, nprng: Any, *, side: str, degradations: Iterable[str]) -> Card:
    """Draw one card for a random person and apply the degradations in a fixed, realistic order."""
    from PIL import ImageFilter

    degradations = list(degradations)
    person = make_person(rng)
    card, layout = (draw_front if side == "front" else draw_back)(rng, person)
    keys = (
        ("ChName", "EnName", "Sex", "CountryOfBirth", "Birthday", "ID", "Race")
        if side == "front"
        else ("Address", "NRICCode", "PostCode", "DateOfIssue")
    )
    truth = {k: person.fields[k] for k in keys}
    if "occlusion" in degradations:
        truth[_occlude(rng, card, layout, side)] = ""
    if "glare" in degradations:
        _glare(rng, card, side)
    img = _place(rng, card, nprng)
    if "rotation" in degradations:
        angle = rng.choice([-1, 1]) * rng.uniform(2, 7)
        img = img.rotate(angle, resample=3, expand=True, fillcolor=(70, 70, 70))
    if "perspective" in degradations:
        img = _perspective(rng, img)
    if "photocopy" in degradations:
        img = _photocopy(rng, img, nprng)
    if "blur" in degradations:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(2.2, 3.0)))
    buf = io.BytesIO()
    if "jpeg" in degradations:
        img.save(buf, "JPEG", quality=rng.randint(12, 25))
        suffix = ".jpg"
    elif rng.random() < 0.3:
        img.save(buf, "JPEG", quality=92)
        suffix = ".jpg"
    else:
        img.save(buf, "PNG", compress_level=1)
        suffix = ".png"
    warn = sorted({c for d in degradations if (c := DEGRADATIONS[d]) is not None})
    return Card(buf.getvalue(), suffix, side, degradations, warn, truth)


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
def _row(record_id: str, path: Path, card: Card) -> dict[str, str]:
    row = {
        "record_id": record_id,
        "image_uri": str(path.resolve()),
        "side": card.side,
        "degradations": ";".join(card.degradations),
        "expected_warn_codes": ";".join(str(c) for c in card.warn_codes),
    }
    for key, column in TRUTH_NAMES.items():
        row[f"truth_{column}"] = card.truth.get(key, "")
    return row


def generate_cards(
    out_dir: Path | str,
    n: int,
    seed: int,
    *,
    degraded_fraction: float = 0.5,
    back_fraction: float = 0.2,
    manifest_format: str = "csv",
) -> Path:
    """Write ``n`` card images and their truth manifest into ``out_dir``; returns the manifest path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    rows = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        nprng = np.random.default_rng([seed & 0xFFFFFFFF, i])
        side = "back" if rng.random() < back_fraction else "front"
        degradations = _choose_degradations(rng) if rng.random() < degraded_fraction else []
        card = render_card(rng, nprng, side=side, degradations=degradations)
        record_id = f"card-{seed}-{i:05d}"
        path = out / f"{record_id}{card.suffix}"
        path.write_bytes(card.image)
        rows.append(_row(record_id, path, card))
    if manifest_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        manifest = out / "manifest.parquet"
        schema = pa.schema([(c, pa.string()) for c in MANIFEST_COLUMNS])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), manifest)
        return manifest
    if manifest_format != "csv":
        raise ValueError("manifest_format must be 'csv' or 'parquet'")
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest


def read_manifest(manifest: Path | str) -> list[dict[str, str]]:
    """The rows of a truth manifest (CSV or Parquet), all values as strings."""
    path = Path(manifest)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: v or "" for k, v in row.items()} for row in pq.read_table(path).to_pylist()]
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def truth_fields(row: dict[str, str]) -> dict[str, str]:
    """The non-empty truth fields of a manifest row, in the service's names."""
    return {key: row[f"truth_{column}"] for key, column in TRUTH_NAMES.items() if row.get(f"truth_{column}")}


def expected_warn_codes(row: dict[str, str]) -> list[int]:
    """The warn codes a manifest row expects."""
    return [int(c) for c in (row.get("expected_warn_codes") or "").split(";") if c]


def fixture_table(manifest: Path | str) -> dict[str, dict]:
    """``{sha256 of the image file: fixture entry}`` for :class:`FixtureRecogniser`."""
    table: dict[str, dict] = {}
    for row in read_manifest(manifest):
        digest = hashlib.sha256(Path(row["image_uri"]).read_bytes()).hexdigest()
        table[digest] = fixture_entry(truth_fields(row), expected_warn_codes(row))
    return table


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a set of cards and print where the manifest is."""
    parser = argparse.ArgumentParser(
        prog="python -m tencent_ocr_emulator.cards",
        description="Generate synthetic Singapore ID cards with a truth manifest.",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n", type=int, default=20, help="number of cards")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv", help="manifest format")
    parser.add_argument("--clean-only", action="store_true", help="no degraded images")
    parser.add_argument("--degraded-fraction", type=float, default=0.5)
    parser.add_argument("--back-fraction", type=float, default=0.2)
    args = parser.parse_args(argv)
    manifest = generate_cards(
        args.out,
        args.n,
        args.seed,
        degraded_fraction=0.0 if args.clean_only else args.degraded_fraction,
        back_fraction=args.back_fraction,
        manifest_format=args.format,
    )
    print(manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
