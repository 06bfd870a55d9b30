"""Synthetic Singapore ID cards with a truth manifest, so the local OCR engine can be measured.

``python -m tencent_ocr_emulator.cards --out DIR --n N --seed S`` writes card
images (front and back, clean and degraded) and ``manifest.csv``: a valid operator manifest
(``record_id``, ``image_uri``) that also carries the truth of every response field
(``truth_<column>``), the degradations applied and the warn codes a reader should raise.

The truth is what is legible on the image: a field hidden by an occlusion has an empty truth.
Everything is derived from the seed, so the same seed gives the same cards. Fonts come from the
``manimgx-fonts-cjk`` package (Noto Sans CJK) or Debian's ``fonts-noto-cjk``; nothing is
downloaded.

Two *profiles* keep the measurement honest. ``tuning`` is what the heuristics were developed on;
``heldout`` draws from other parameter ranges (other fonts -- DejaVu when installed and Pillow's
bundled Aileron --, other names, larger layout jitter, motion blur, stronger JPEG, other glare
shapes and occluder colours such as a thumb) and must be evaluated on seeds never used for tuning.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
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
GLARE_MIN_AREA = 0.003  # share of the card a reflection whitens by half or more

_DEBIAN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
)
# Latin faces for the held-out profile (used when installed; Pillow's bundled Aileron always is).
_DEJAVU = "/usr/share/fonts/truetype/dejavu/"
_HELDOUT_FACES = (
    _DEJAVU + "DejaVuSans-Bold.ttf",
    _DEJAVU + "DejaVuSansCondensed-Bold.ttf",
    _DEJAVU + "DejaVuSerif-Bold.ttf",
    "pillow-default",
    "noto:900",
    "noto:560",
)


@dataclass(frozen=True)
class Settings:
    """The parameter ranges of one profile (every draw below is uniform in its range)."""

    name: str
    faces: tuple[str, ...]  # Latin value faces: "noto:<weight>", a font file, or "pillow-default"
    extra_names: float  # share of people drawn from the held-out name lists
    offset: tuple[int, int]  # layout jitter of the whole text block (x, y), pixels
    value_size: tuple[int, int]
    row_jitter: int  # per-row vertical jitter, pixels
    blur_sigma: tuple[float, float]
    motion_blur: float  # share of blurred cards blurred by motion instead of defocus
    motion_length: tuple[int, int]
    jpeg_quality: tuple[int, int]
    rotation: tuple[float, float]  # degrees, either sign
    copy_noise: tuple[float, float]
    copy_gamma: tuple[float, float]
    glare_spots: tuple[int, int]
    glare_radius: tuple[int, int]  # semi-major axis, pixels on the 1000 x 630 card
    glare_aspect: tuple[float, float]  # minor / major
    glare_core: tuple[float, float]  # share of the spot that is blown out
    glare_veil: tuple[float, float]  # peak whitening of a spot that lies over text
    occluders: tuple[str, ...]  # shapes
    occluder_colours: tuple[tuple[int, int, int], ...]


_SKIN = ((234, 200, 170), (224, 172, 140), (198, 150, 118), (160, 112, 80), (120, 80, 55), (245, 214, 196))
PROFILES: dict[str, Settings] = {
    "tuning": Settings(
        name="tuning",
        faces=("noto:700", "noto:650", "noto:760"),
        extra_names=0.0,
        offset=(12, 10),
        value_size=(32, 36),
        row_jitter=0,
        blur_sigma=(2.2, 3.0),
        motion_blur=0.0,
        motion_length=(0, 0),
        jpeg_quality=(12, 25),
        rotation=(2.0, 7.0),
        copy_noise=(5.0, 7.0),
        copy_gamma=(0.9, 1.1),
        glare_spots=(1, 2),
        glare_radius=(50, 110),
        glare_aspect=(0.5, 1.0),
        glare_core=(0.35, 0.6),
        glare_veil=(0.7, 0.8),
        occluders=("rect", "thumb"),
        occluder_colours=((225, 180, 150), (60, 60, 70), (250, 230, 90), (180, 190, 200), _SKIN[0], _SKIN[3]),
    ),
    "heldout": Settings(
        name="heldout",
        faces=_HELDOUT_FACES,
        extra_names=0.7,
        offset=(24, 18),
        value_size=(30, 38),
        row_jitter=5,
        blur_sigma=(2.0, 3.6),
        motion_blur=0.4,
        motion_length=(9, 16),
        jpeg_quality=(6, 14),
        rotation=(0.5, 10.0),
        copy_noise=(2.0, 12.0),
        copy_gamma=(0.75, 1.3),
        glare_spots=(1, 3),
        glare_radius=(30, 200),
        glare_aspect=(0.15, 1.0),
        glare_core=(0.2, 0.75),
        glare_veil=(0.62, 0.78),
        occluders=("rect", "thumb", "ellipse", "note"),
        occluder_colours=(*_SKIN, (30, 30, 30), (240, 240, 235), (200, 40, 40), (40, 90, 200), (120, 200, 120)),
    ),
}

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
# Names used only by the held-out profile.
_CN_SURNAMES_X = [
    ("TOH", "卓"), ("HENG", "王"), ("KWEK", "郭"), ("SOH", "苏"), ("LOKE", "陆"), ("FOO", "胡"),
    ("TEE", "郑"), ("POH", "傅"), ("KHOO", "邱"), ("CHIA", "谢"), ("LAI", "赖"), ("YEOH", "杨"),
]
_CN_GIVEN_X = [
    ("BOON", "文"), ("KIAT", "杰"), ("SIEW", "秀"), ("HOCK", "福"), ("PEI", "佩"), ("SHU", "淑"),
    ("YAN", "燕"), ("LAY", "丽"), ("CHUAN", "川"), ("KENG", "庆"), ("TING", "婷"), ("RUI", "瑞"),
]
_MALAY_MALE_X = ["SYED", "AZMAN", "KHAIRUL", "NORMAN", "RIDHWAN", "SHAHRIL"]
_MALAY_FEMALE_X = ["SALMAH", "ROSNAH", "NORHAYATI", "DIYANA", "HIDAYAH", "ATIQAH"]
_MALAY_FATHERS_X = ["MOHAMED", "ABDULLAH", "SAMAD", "WAHAB", "MANSOR", "TAHIR"]
_INDIAN_MALE_X = ["SELVAM", "BALA", "DINESH", "MANOJ", "SIVA", "HARI"]
_INDIAN_FEMALE_X = ["VASANTHI", "SANGEETHA", "NIRMALA", "UMA", "DIVYA", "JANANI"]
_INDIAN_FATHERS_X = ["VELU", "ARUMUGAM", "RAJAN", "PERUMAL", "SUPPIAH", "MANIAM"]
_OTHER_FIRST_X = ["VICTOR", "LUCAS", "HELEN", "IRENE", "OSCAR", "LINDA"]
_OTHER_LAST_X = ["ALVARES", "MORAIS", "NUNES", "OLIVEIRO", "HENDRICKS", "TESSENSOHN"]
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


def make_person(rng: random.Random, extra_names: float = 0.0) -> Person:
    """A random resident: Chinese (often with a Chinese name), Malay, Indian or other.

    ``extra_names`` is the share of people named from the held-out lists instead.
    """
    sex = rng.choice("MF")
    group = rng.choices(["chinese", "malay", "indian", "other"], weights=[5, 2, 2, 1])[0]
    x = rng.random() < extra_names
    ch_name = ""
    if group == "chinese":
        surname, surname_cn = rng.choice(_CN_SURNAMES_X if x else _CN_SURNAMES)
        given = rng.sample(_CN_GIVEN_X if x else _CN_GIVEN, rng.choice([1, 2, 2, 2]))
        en = " ".join([surname] + [g[0] for g in given])
        if rng.random() < 0.25:  # a Western first name in front, common in Singapore
            en = f"{rng.choice(_OTHER_FIRST_M if sex == 'M' else _OTHER_FIRST_F)} {en}"
        if rng.random() < 0.75:
            ch_name = surname_cn + "".join(g[1] for g in given)
        race = "CHINESE"
    elif group == "malay":
        names = (_MALAY_MALE_X if x else _MALAY_MALE) if sex == "M" else (_MALAY_FEMALE_X if x else _MALAY_FEMALE)
        first = rng.choice(names)
        if rng.random() < 0.4:
            first += " " + rng.choice(names)
        en = f"{first} {'BIN' if sex == 'M' else 'BINTE'} {rng.choice(_MALAY_FATHERS_X if x else _MALAY_FATHERS)}"
        race = "MALAY"
    elif group == "indian":
        names = (_INDIAN_MALE_X if x else _INDIAN_MALE) if sex == "M" else (_INDIAN_FEMALE_X if x else _INDIAN_FEMALE)
        father = rng.choice(_INDIAN_FATHERS_X if x else _INDIAN_FATHERS)
        en = f"{rng.choice(names)} {'S/O' if sex == 'M' else 'D/O'} {father}"
        race = "INDIAN"
    else:
        first = rng.choice(_OTHER_FIRST_X if x else (_OTHER_FIRST_M if sex == "M" else _OTHER_FIRST_F))
        en = f"{first} {rng.choice(_OTHER_LAST_X if x else _OTHER_LAST)}"
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


@lru_cache(maxsize=128)
def _font(size: int, weight: int, face: str = "noto") -> Any:
    """A font: Noto Sans CJK at ``weight``, or a Latin ``face`` ("noto:<w>", a file, "pillow-default")."""
    from PIL import ImageFont

    if face == "pillow-default":
        return ImageFont.load_default(size)
    if face.startswith("noto:"):
        face, weight = "noto", int(face.split(":")[1])
    if face != "noto":
        return ImageFont.truetype(face, size)
    path, index = font_path()
    font = ImageFont.truetype(path, size, index=index)
    try:
        font.set_variation_by_axes([weight])
    except (OSError, ValueError):  # a static (non-variable) face: use it as it is
        pass
    return font


def available_faces(settings: Settings) -> list[str]:
    """The profile's Latin faces that exist on this machine (never empty)."""
    found = [f for f in settings.faces if f == "pillow-default" or f.startswith("noto:") or Path(f).is_file()]
    return found or ["noto:700"]


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
    face: str = "noto",
) -> tuple[int, int, int, int]:
    font = _font(size, weight, face)
    while max_width is not None and size > 18 and draw.textlength(text, font=font) > max_width:
        size -= 2
        font = _font(size, weight, face)
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


@dataclass
class _Style:
    """One card's typography and jitter, drawn from a profile."""

    face: str
    label_face: str
    dx: int
    dy: int
    ls: int
    vs: int
    rows: tuple[int, ...]

    @classmethod
    def draw(cls, rng: random.Random, settings: Settings) -> _Style:
        faces = available_faces(settings)
        ox, oy = settings.offset
        return cls(
            face=rng.choice(faces),
            label_face="noto" if settings.name == "tuning" else rng.choice(["noto", "pillow-default"]),
            dx=_jitter(rng, ox),
            dy=_jitter(rng, oy),
            ls=21 + _jitter(rng, 1),
            vs=rng.randint(*settings.value_size),
            rows=tuple(_jitter(rng, settings.row_jitter) for _ in range(8)),
        )


def draw_front(rng: random.Random, person: Person, settings: Settings | None = None) -> tuple[Any, _Layout]:
    """The front: header, ID number, portrait, and the labelled fields beside it."""
    from PIL import ImageDraw

    settings = settings or PROFILES["tuning"]
    card = _card_base(rng, (238 + _jitter(rng, 4), 214 + _jitter(rng, 6), 222 + _jitter(rng, 6)))
    draw = ImageDraw.Draw(card)
    label_c, value_c = (60, 60, 110), (15, 15, 20)
    f = person.fields
    layout = _Layout()
    st = _Style.draw(rng, settings)
    dx, dy, ls, vs, lf, vf = st.dx, st.dy, st.ls, st.vs, st.label_face, st.face
    _text(draw, (40 + dx, 28 + dy), "REPUBLIC OF SINGAPORE", 40, 700, (150, 20, 40), face=vf)
    lab = _text(draw, (470 + dx, 100 + dy), "IDENTITY CARD NO.", ls, 400, label_c, face=lf)
    val = _text(draw, (lab[2] + 18, 92 + dy), f["ID"], vs, 700, value_c, max_width=CARD_W - lab[2] - 40, face=vf)
    layout.boxes["ID"] = _union(lab, val)
    card.paste(_portrait(rng, (230, 290)), (40 + dx, 150 + dy))
    x = 300 + dx
    lab = _text(draw, (x, 150 + dy), "Name", ls, 400, label_c, face=lf)
    val = _text(draw, (x, 176 + dy), f["EnName"], vs, 700, value_c, max_width=CARD_W - x - 30, face=vf)
    layout.boxes["EnName"] = _union(lab, val)
    if f["ChName"]:
        layout.boxes["ChName"] = _text(draw, (x, 222 + dy + st.rows[0] // 2), f["ChName"], vs + 2, 700, value_c)
    for (key, label, (px, py)), rj in zip(
        (
            ("Race", "Race", (x, 290)),
            ("Birthday", "Date of birth", (x, 380)),
            ("Sex", "Sex", (x + 320 + _jitter(rng, 10 + 2 * settings.row_jitter), 380)),
            ("CountryOfBirth", "Country/Place of birth", (x, 470)),
        ),
        (st.rows[1], st.rows[2], st.rows[2], st.rows[3]),
        strict=True,
    ):
        lab = _text(draw, (px, py + dy + rj), label, ls, 400, label_c, face=lf)
        val = _text(draw, (px, py + 26 + dy + rj), f[key], vs, 700, value_c, max_width=CARD_W - px - 30, face=vf)
        layout.boxes[key] = _union(lab, val)
    return card, layout


def draw_back(rng: random.Random, person: Person, settings: Settings | None = None) -> tuple[Any, _Layout]:
    """The back: thumbprint, date of issue, the address block, and the ID over a barcode."""
    from PIL import ImageDraw

    settings = settings or PROFILES["tuning"]
    card = _card_base(rng, (222 + _jitter(rng, 5), 228 + _jitter(rng, 5), 240 + _jitter(rng, 4)))
    draw = ImageDraw.Draw(card)
    label_c, value_c = (60, 60, 110), (15, 15, 20)
    f = person.fields
    layout = _Layout()
    st = _Style.draw(rng, settings)
    dx, dy, ls, vf, lf = st.dx, st.dy, st.ls, st.face, st.label_face
    vs = st.vs - 2
    for k in range(12):  # a thumbprint: concentric ridges
        draw.ellipse(
            (60 + dx + 7 * k, 70 + dy + 9 * k, 250 + dx - 7 * k, 320 + dy - 9 * k), outline=(120, 110, 130), width=2
        )
    x = 320 + dx
    lab = _text(draw, (x, 60 + dy), "Date of issue", ls, 400, label_c, face=lf)
    val = _text(draw, (x, 86 + dy), f["DateOfIssue"], vs, 700, value_c, face=vf)
    layout.boxes["DateOfIssue"] = _union(lab, val)
    lab = _text(draw, (x, 170 + dy + st.rows[0]), "Address", ls, 400, label_c, face=lf)
    boxes = [lab]
    for i, line in enumerate(f["_address_lines"].split("\n")):
        y = 198 + 46 * i + dy + st.rows[0]
        boxes.append(_text(draw, (x, y), line, vs, 700, value_c, max_width=CARD_W - x - 30, face=vf))
    layout.boxes["Address"] = _union(*boxes)
    val = _text(draw, (560 + dx, 440 + dy + st.rows[1]), f["NRICCode"], vs, 700, value_c, face=vf)
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
def _ellipse(cx: float, cy: float, a: float, b: float, angle: float, n: int = 48) -> list[tuple[float, float]]:
    c, s = math.cos(angle), math.sin(angle)
    points = []
    for k in range(n):
        t = math.tau * k / n
        x, y = a * math.cos(t), b * math.sin(t)
        points.append((cx + x * c - y * s, cy + x * s + y * c))
    return points


def _coverage(mask: Any, box: tuple[int, int, int, int]) -> float:
    """Share of ``box`` under the occluder ``mask`` (a boolean array)."""
    x0, y0, x1, y1 = (max(0, v) for v in box)
    crop = mask[y0:y1, x0:x1]
    return float(crop.mean()) if crop.size else 0.0


def _occluder_mask(rng: random.Random, shape: str, box: tuple[int, int, int, int]) -> tuple[Any, Any]:
    """(mask image, nail polygon or None) of one occluder covering ``box``."""
    from PIL import Image, ImageDraw

    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    mask = Image.new("L", (CARD_W, CARD_H), 0)
    draw = ImageDraw.Draw(mask)
    nail = None
    pad = rng.randint(6, 16)
    if shape == "rect":
        draw.rounded_rectangle(
            (x0 - pad - rng.randint(0, 20), y0 - pad, x1 + pad + rng.randint(0, 30), y1 + pad), radius=14, fill=255
        )
    elif shape == "note":  # a slightly tilted sticky note
        angle = rng.uniform(-0.15, 0.15)
        a, b = w / 2 + pad + rng.randint(0, 30), h / 2 + pad + rng.randint(0, 12)
        c, s = math.cos(angle), math.sin(angle)
        corners = [(-a, -b), (a, -b), (a, b), (-a, b)]
        draw.polygon([(cx + x * c - y * s, cy + x * s + y * c) for x, y in corners], fill=255)
    elif shape == "ellipse":
        a, b = (w / 2 + pad) * 1.45, (h / 2 + pad) * 1.45
        draw.polygon(_ellipse(cx, cy, a, b, rng.uniform(-0.1, 0.1)), fill=255)
    else:  # a thumb: a long ellipse reaching in from the card's bottom edge, its tip over the field
        a = max(w / 2 + pad, 70) * rng.uniform(1.3, 1.6)
        tip = y0 - pad
        reach = CARD_H + 40 - tip
        angle = rng.uniform(-0.35, 0.35)
        centre = (cx + math.sin(angle) * reach / 2, tip + reach / 2)
        draw.polygon(_ellipse(centre[0], centre[1], reach / 2, a, math.pi / 2 + angle), fill=255)
        nail = _ellipse(cx, tip + 0.45 * a, 0.55 * a, 0.4 * a, angle)
    return mask, nail


# The Singapore fields an occluder may be drawn over, by side.
SINGAPORE_OCCLUDABLE = {"front": ["Race", "Birthday", "Sex", "CountryOfBirth"], "back": ["DateOfIssue", "NRICCode"]}


def _occlude(rng: random.Random, card: Any, layout: _Layout, keys: str | list[str], settings: Settings) -> list[str]:
    """Cover one of the fields ``keys`` (label and value; a Singapore side's fields when ``keys`` is
    "front" or "back") with an opaque object; returns every field it hides.

    The object hides a field wholly or not at all: a placement that would half-cover another
    field is drawn again (the truth must be what is legible).
    """
    import numpy as np
    from PIL import Image, ImageDraw

    key = rng.choice(SINGAPORE_OCCLUDABLE[keys] if isinstance(keys, str) else keys)
    for attempt in range(12):
        shape = rng.choice(settings.occluders) if attempt < 11 else "rect"
        mask, nail = _occluder_mask(rng, shape, layout.boxes[key])
        covered = np.asarray(mask) > 0
        shares = {k: _coverage(covered, box) for k, box in layout.boxes.items()}
        if shares[key] >= 0.999 and all(v == 0 or v >= 0.999 for v in shares.values()):
            break
    colour = rng.choice(_SKIN if shape == "thumb" else settings.occluder_colours)
    fill = Image.new("RGB", card.size, colour)
    if shape == "thumb":  # skin is not flat: a soft shading across the thumb
        arr = np.asarray(fill).astype(np.float32)
        shade = np.linspace(0.85, 1.05, CARD_W, dtype=np.float32)[None, :, None]
        fill = Image.fromarray(np.clip(arr * shade, 0, 255).astype(np.uint8))
    card.paste(fill, (0, 0), mask)
    if nail is not None:
        ImageDraw.Draw(card).polygon(nail, fill=tuple(min(255, c + 25) for c in colour))
    return [k for k, v in shares.items() if v >= 0.999]


def _glare(rng: random.Random, card: Any, layout: _Layout, settings: Settings) -> None:
    """Reflections: soft spots whitening the card, blown out (saturated) where they miss the text.

    Spots have many sizes, elongations (streaks), angles and positions. A spot over printed text
    is a veil (its peak whitening below full) so the text stays legible and the truth holds.
    """
    import numpy as np
    from PIL import Image

    arr = np.asarray(card).astype(np.float32)
    yy, xx = np.mgrid[0:CARD_H, 0:CARD_W].astype(np.float32)
    total = np.zeros((CARD_H, CARD_W), np.float32)
    veil_max = settings.glare_veil[1]
    spots = rng.randint(*settings.glare_spots)
    # A reflection worth a warning whitens at least GLARE_MIN_AREA of the card by half or more:
    # spots are added until it does (a speck is not a reflective card).
    while spots > 0 or float((total >= 0.5).mean()) < GLARE_MIN_AREA:
        spots -= 1
        cx, cy = rng.uniform(40, CARD_W - 40), rng.uniform(30, CARD_H - 30)
        a = rng.uniform(*settings.glare_radius)
        b = a * rng.uniform(*settings.glare_aspect)
        angle = rng.uniform(0, math.pi)
        c, s = math.cos(angle), math.sin(angle)
        u, v = (xx - cx) * c + (yy - cy) * s, -(xx - cx) * s + (yy - cy) * c
        d = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        core = rng.uniform(*settings.glare_core)
        t = np.clip((1 - d) / (1 - core), 0, 1)
        alpha = t * t * (3 - 2 * t)  # smooth fall-off from the blown-out core
        over_text = any(
            alpha[max(0, y0) : y1, max(0, x0) : x1].max(initial=0) > veil_max
            for x0, y0, x1, y1 in layout.boxes.values()
        )
        if over_text:
            alpha *= rng.uniform(*settings.glare_veil)
        total = np.maximum(total, alpha)
    out = arr * (1 - total[..., None]) + 255 * total[..., None]
    card.paste(Image.fromarray(out.astype(np.uint8)))


def _motion_blur(img: Any, length: int, angle: float) -> Any:
    """Camera shake: the mean of the image shifted along a line."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(img).astype(np.float32)
    acc = np.zeros_like(arr)
    for k in range(length):
        r = k - (length - 1) / 2
        acc += np.roll(arr, (round(r * math.sin(angle)), round(r * math.cos(angle))), axis=(0, 1))
    return Image.fromarray((acc / length).astype(np.uint8))


def _photocopy(rng: random.Random, img: Any, nprng: Any, settings: Settings | None = None) -> Any:
    """Grey copy: no chroma, raised contrast, toner noise."""
    import numpy as np
    from PIL import Image, ImageOps

    settings = settings or PROFILES["tuning"]
    grey = ImageOps.autocontrast(img.convert("L"), cutoff=1)
    arr = 255 * (np.asarray(grey).astype(np.float32) / 255) ** rng.uniform(*settings.copy_gamma)
    arr = arr * rng.uniform(0.9, 1.0) + nprng.normal(0, rng.uniform(*settings.copy_noise), grey.size[::-1])
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
    action: str = "RecognizeSingaporeIDCardOCR"


def settings_for(profile: str | Settings) -> Settings:
    """A profile by name ("tuning" or "heldout"), or the settings themselves."""
    if isinstance(profile, Settings):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}") from None


def render_card(
    rng: random.Random,
    nprng: Any,
    *,
    side: str,
    degradations: Iterable[str],
    profile: str | Settings = "tuning",
    document: str = "singapore",
) -> Card:
    """Draw one document for a random person and apply the degradations in a fixed, realistic order.

    ``document``: "singapore" (front or back by ``side``), "passport" (a data page with its MRZ) or
    "mykad" (the front); see :mod:`tencent_ocr_emulator.document_cards`.
    """
    from PIL import ImageFilter

    from tencent_ocr_emulator import document_cards

    settings = settings_for(profile)
    degradations = list(degradations)
    if document == "singapore":
        person = make_person(rng, settings.extra_names)
        card, layout = (draw_front if side == "front" else draw_back)(rng, person, settings)
        keys = (
            ("ChName", "EnName", "Sex", "CountryOfBirth", "Birthday", "ID", "Race")
            if side == "front"
            else ("Address", "NRICCode", "PostCode", "DateOfIssue")
        )
        truth = {k: person.fields[k] for k in keys}
        occludable = SINGAPORE_OCCLUDABLE[side]
        clears: dict[str, tuple[str, ...]] = {"Address": ("Address", "PostCode")}
    elif document in document_cards.DRAWERS:
        side = "front"
        drawn = document_cards.DRAWERS[document](rng, settings)
        card, layout, truth, occludable, clears = drawn.card, drawn.layout, drawn.truth, drawn.occludable, drawn.clears
    else:
        raise ValueError(f"document must be one of {['singapore', *document_cards.DRAWERS]}, not {document!r}")
    if "occlusion" in degradations:
        for hidden in _occlude(rng, card, layout, occludable, settings):
            for key in clears.get(hidden, (hidden,)):
                if key in truth:
                    truth[key] = ""
    if "glare" in degradations:
        _glare(rng, card, layout, settings)
    img = _place(rng, card, nprng)
    if "rotation" in degradations:
        angle = rng.choice([-1, 1]) * rng.uniform(*settings.rotation)
        img = img.rotate(angle, resample=3, expand=True, fillcolor=(70, 70, 70))
    if "perspective" in degradations:
        img = _perspective(rng, img)
    if "photocopy" in degradations:
        img = _photocopy(rng, img, nprng, settings)
    if "blur" in degradations:
        if rng.random() < settings.motion_blur:
            img = _motion_blur(img, rng.randint(*settings.motion_length), rng.uniform(0, math.pi))
        else:
            img = img.filter(ImageFilter.GaussianBlur(rng.uniform(*settings.blur_sigma)))
    buf = io.BytesIO()
    if "jpeg" in degradations:
        img.save(buf, "JPEG", quality=rng.randint(*settings.jpeg_quality))
        suffix = ".jpg"
    elif rng.random() < 0.3:
        img.save(buf, "JPEG", quality=92)
        suffix = ".jpg"
    else:
        img.save(buf, "PNG", compress_level=1)
        suffix = ".png"
    warn = sorted({c for d in degradations if (c := DEGRADATIONS[d]) is not None})
    return Card(buf.getvalue(), suffix, side, degradations, warn, truth, document_cards.DOCUMENT_ACTIONS[document])


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------
DOCUMENT_MANIFEST_COLUMNS = [
    "record_id",
    "image_uri",
    "action",
    "side",
    "degradations",
    "expected_warn_codes",
    "truth_fields",
]


def _row(record_id: str, path: Path, card: Card, *, documents: bool = False) -> dict[str, str]:
    if documents:  # any document: the action to call and its truth as JSON, by API field name
        return {
            "record_id": record_id,
            "image_uri": str(path.resolve()),
            "action": card.action,
            "side": card.side,
            "degradations": ";".join(card.degradations),
            "expected_warn_codes": ";".join(str(c) for c in card.warn_codes),
            "truth_fields": json.dumps(card.truth, ensure_ascii=False, sort_keys=True),
        }
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
    profile: str = "tuning",
    documents: Iterable[str] = ("singapore",),
) -> Path:
    """Write ``n`` card images and their truth manifest into ``out_dir``; returns the manifest path.

    ``profile`` picks the parameter ranges: "tuning" (what the heuristics were developed on) or
    "heldout" (other fonts, names, jitter and degradation strengths, for honest evaluation).
    ``documents``: which documents to draw, in turn ("singapore", "passport", "mykad"). Singapore
    alone writes the Singapore manifest (``truth_<column>`` per field); any other choice writes
    :data:`DOCUMENT_MANIFEST_COLUMNS`, with each row's ``action`` and its truth as JSON.
    """
    settings = settings_for(profile)
    kinds = list(documents)
    generic = kinds != ["singapore"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import numpy as np

    rows = []
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        nprng = np.random.default_rng([seed & 0xFFFFFFFF, i])
        side = "back" if rng.random() < back_fraction else "front"
        degradations = _choose_degradations(rng) if rng.random() < degraded_fraction else []
        document = kinds[i % len(kinds)]
        card = render_card(rng, nprng, side=side, degradations=degradations, profile=settings, document=document)
        record_id = f"card-{seed}-{i:05d}" if not generic else f"{document}-{seed}-{i:05d}"
        path = out / f"{record_id}{card.suffix}"
        path.write_bytes(card.image)
        rows.append(_row(record_id, path, card, documents=generic))
    if manifest_format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        manifest = out / "manifest.parquet"
        columns = DOCUMENT_MANIFEST_COLUMNS if generic else MANIFEST_COLUMNS
        schema = pa.schema([(c, pa.string()) for c in columns])
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), manifest)
        return manifest
    if manifest_format != "csv":
        raise ValueError("manifest_format must be 'csv' or 'parquet'")
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=DOCUMENT_MANIFEST_COLUMNS if generic else MANIFEST_COLUMNS)
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
    """The non-empty truth fields of a manifest row (either manifest), in the service's names."""
    if "truth_fields" in row:
        return {k: v for k, v in json.loads(row["truth_fields"]).items() if v}
    return {key: row[f"truth_{column}"] for key, column in TRUTH_NAMES.items() if row.get(f"truth_{column}")}


def row_action(row: dict[str, str]) -> str:
    """The action that reads a manifest row's image (Singapore manifests carry no ``action`` column)."""
    return row.get("action") or "RecognizeSingaporeIDCardOCR"


def expected_warn_codes(row: dict[str, str]) -> list[int]:
    """The warn codes a manifest row expects."""
    return [int(c) for c in (row.get("expected_warn_codes") or "").split(";") if c]


def fixture_table(manifest: Path | str) -> dict[str, dict]:
    """``{sha256 of the image file: fixture entry}`` for :class:`FixtureRecogniser`."""
    table: dict[str, dict] = {}
    for row in read_manifest(manifest):
        digest = hashlib.sha256(Path(row["image_uri"]).read_bytes()).hexdigest()
        table[digest] = fixture_entry(truth_fields(row), expected_warn_codes(row), action=row_action(row))
    return table


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a set of cards and print where the manifest is."""
    parser = argparse.ArgumentParser(
        prog="python -m tencent_ocr_emulator.cards",
        description="Generate synthetic ID documents (Singapore IC, passport, MyKad) with a truth manifest.",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n", type=int, default=20, help="number of cards")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv", help="manifest format")
    parser.add_argument("--clean-only", action="store_true", help="no degraded images")
    parser.add_argument("--degraded-fraction", type=float, default=0.5)
    parser.add_argument("--back-fraction", type=float, default=0.2)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="tuning", help="parameter ranges")
    parser.add_argument(
        "--documents",
        default="singapore",
        help="comma-separated documents drawn in turn: singapore, passport, mykad (default: singapore)",
    )
    args = parser.parse_args(argv)
    manifest = generate_cards(
        args.out,
        args.n,
        args.seed,
        degraded_fraction=0.0 if args.clean_only else args.degraded_fraction,
        back_fraction=args.back_fraction,
        manifest_format=args.format,
        profile=args.profile,
        documents=[d.strip() for d in args.documents.split(",") if d.strip()],
    )
    print(manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
