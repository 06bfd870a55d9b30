"""Synthetic documents beside the Singapore IC: a passport data page with a real MRZ, and a MyKad front.

The passport's machine-readable zone is two TD3 lines of 44 characters with every ICAO 9303 check
digit, so each page verifies itself; its truth is what ``MLIDPassportOCR`` parses from the MRZ. The
MyKad front carries the number ``YYMMDD-PB-###G`` (birth date and sex encoded), the name, the address
block, citizenship, religion and sex; its truth is what ``MLIDCardOCR`` answers (the birth date is
the one the number encodes). Both are drawn with the same fonts, profiles and degradations as the
Singapore cards (:mod:`tencent_ocr_emulator.cards`), and the truth is what is legible.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tencent_ocr_emulator import numbers
from tencent_ocr_emulator.synthetic import passport_fields

PASSPORT = "MLIDPassportOCR"
MYKAD = "MLIDCardOCR"
SINGAPORE = "RecognizeSingaporeIDCardOCR"
# Document name (generator) -> the action that reads it.
DOCUMENT_ACTIONS = {"singapore": SINGAPORE, "passport": PASSPORT, "mykad": MYKAD}
# The fields a reader is scored on, per action (what is printed or encoded on the image).
SCORED_FIELDS: dict[str, tuple[str, ...]] = {
    PASSPORT: (
        "Type",
        "IssuingCountry",
        "ID",
        "Surname",
        "GivenName",
        "Name",
        "Nationality",
        "DateOfBirth",
        "Sex",
        "DateOfExpiration",
        "CodeSet",
        "CodeCrc",
    ),
    MYKAD: ("ID", "Name", "Address", "Sex", "Type", "Birthday"),
}
_MONO_FACES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
)
_COUNTRIES = {
    "SGP": "REPUBLIC OF SINGAPORE",
    "MYS": "MALAYSIA",
    "THA": "KINGDOM OF THAILAND",
    "IDN": "REPUBLIC OF INDONESIA",
    "PHL": "REPUBLIC OF THE PHILIPPINES",
    "GBR": "UNITED KINGDOM",
    "AUS": "AUSTRALIA",
}
_PLACES = ("SINGAPORE", "KUALA LUMPUR", "BANGKOK", "JAKARTA", "MANILA", "LONDON", "SYDNEY", "PENANG")
# fmt: off
_SURNAMES = ["TAN", "LIM", "SANTOS", "REYES", "WIJAYA", "SRISUK", "SMITH", "NGUYEN", "RAHMAN", "CHONG",
             "DELA CRUZ", "O'BRIEN", "KUMAR", "WONG", "HALIM", "SUKSAWAT", "GARCIA", "BROWN"]
_GIVEN_M = ["WEI MING", "JUAN CARLOS", "BUDI", "SOMCHAI", "JAMES", "AHMAD FAIZ", "RAJ", "KAR WAI", "MARK"]
_GIVEN_F = ["MEI LING", "MARIA ISABEL", "DEWI", "MALEE", "EMMA", "NUR AISYAH", "PRIYA", "SUK YEE", "ANNE"]
_SURNAMES_X = ["TEO", "MENDOZA", "SANTOSO", "CHAIYAPORN", "TAYLOR", "HASSAN", "PILLAI", "YEOH", "BAUTISTA"]
_GIVEN_X = ["KELVIN", "ROSA", "AGUS", "NIRAN", "OLIVER", "SITI", "ARUN", "HUI MIN", "CARLO"]
_MY_MALE = ["AHMAD", "MUHAMMAD FAIZ", "LIM CHEE KEONG", "RAJESH", "MOHD HAFIZ", "TAN WEI JIE"]
_MY_FEMALE = ["NUR AISYAH", "SITI AMINAH", "WONG MEI LING", "KAVITHA", "NURUL IZZAH", "LEE XIN YI"]
_MY_FATHERS = ["ABDULLAH", "ISMAIL", "RAHMAN", "OSMAN", "YUSOF", "HASSAN"]
_MY_STREETS = ["JALAN MAWAR", "JALAN BUNGA RAYA", "LORONG SETIA", "JALAN MERDEKA", "TAMAN MELATI", "JALAN AMPANG"]
_MY_TOWNS = [("50450", "KUALA LUMPUR", "W.P KUALA LUMPUR", 14), ("10200", "GEORGETOWN", "PULAU PINANG", 7),
             ("80000", "JOHOR BAHRU", "JOHOR", 1), ("40000", "SHAH ALAM", "SELANGOR", 10),
             ("93000", "KUCHING", "SARAWAK", 13), ("88000", "KOTA KINABALU", "SABAH", 12),
             ("30000", "IPOH", "PERAK", 8), ("75000", "MELAKA", "MELAKA", 4)]
_MY_RELIGIONS = ["ISLAM", "", "", "BUDDHA", "KRISTIAN", "HINDU"]
# fmt: on


@dataclass
class Drawn:
    """One drawn document: the card image, where each field stands, its truth, and what may be covered."""

    card: Any
    layout: Any
    truth: dict[str, str]
    occludable: list[str]
    clears: dict[str, tuple[str, ...]]  # covered box -> truth fields it hides


def mono_face(size: int) -> Any:
    """A monospaced face for the MRZ (DejaVu Sans Mono when installed, else the card's own face)."""
    from PIL import ImageFont

    from tencent_ocr_emulator.cards import _font

    for path in _MONO_FACES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return _font(size, 500)


def _visual_date(day: dt.date) -> str:
    return f"{day:%d %b %Y}".upper()


def draw_passport(rng: random.Random, settings: Any) -> Drawn:
    """A passport data page: header, portrait, labelled visual zone, and the two MRZ lines."""
    from PIL import ImageDraw

    from tencent_ocr_emulator.cards import CARD_W, _card_base, _jitter, _Layout, _portrait, _Style, _text, _union

    held_out = rng.random() < settings.extra_names
    sex = rng.choice("MF")
    surname = rng.choice(_SURNAMES_X if held_out else _SURNAMES)
    given = rng.choice(_GIVEN_X if held_out else (_GIVEN_M if sex == "M" else _GIVEN_F))
    country = rng.choice(sorted(_COUNTRIES))
    nationality = country if rng.random() < 0.85 else rng.choice(sorted(_COUNTRIES))
    born = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(365 * 60))
    issued = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(365 * 9))
    expires = issued.replace(year=issued.year + rng.choice([5, 10])) - dt.timedelta(days=1)
    number = rng.choice("KEAPN") + "".join(rng.choices("0123456789", k=7)) + rng.choice("ABCDEFGHJK")
    place = rng.choice(_PLACES)
    fields = passport_fields(
        issuing=country,
        nationality=nationality,
        number=number,
        surname=surname.replace("'", ""),
        given=given,
        born=born,
        sex=sex,
        expires=expires,
        issued=issued,
        birth_place=place,
    )
    card = _card_base(rng, (226 + _jitter(rng, 5), 232 + _jitter(rng, 5), 220 + _jitter(rng, 5)))
    draw = ImageDraw.Draw(card)
    st = _Style.draw(rng, settings)
    dx, dy, ls, vs, lf, vf = st.dx, st.dy, st.ls, st.vs - 4, st.label_face, st.face
    label_c, value_c = (70, 70, 90), (15, 15, 20)
    layout = _Layout()
    _text(draw, (40 + dx, 18 + dy), f"PASSPORT  {_COUNTRIES[country]}", 30, 700, (40, 50, 120), face=vf)
    card.paste(_portrait(rng, (200, 250)), (40 + dx, 80 + dy))
    x1, x2 = 280 + dx, 640 + dx
    rows = (
        (
            ("Type", "Type", "P", x1),
            ("Code", "Country code", country, x1 + 140),
            ("Number", "Passport No.", number, x2),
        ),
        (("Surname", "Surname", surname, x1),),
        (("Given", "Given names", given, x1),),
        (("Nationality", "Nationality", nationality, x1), ("Sex", "Sex", sex, x2)),
        (("Birth", "Date of birth", _visual_date(born), x1), ("Place", "Place of birth", place, x2)),
        (("Issue", "Date of issue", _visual_date(issued), x1), ("Expiry", "Date of expiry", _visual_date(expires), x2)),
    )
    y = 62 + dy
    for row, jitter in zip(rows, st.rows, strict=False):
        for key, label, value, x in row:
            lab = _text(draw, (x, y + jitter), label, ls - 3, 400, label_c, face=lf)
            width = CARD_W - x - 30 if x == x1 and len(row) == 1 else x2 - x - 20 if x < x2 else CARD_W - x - 30
            val = _text(draw, (x, y + jitter + 22), value, vs, 700, value_c, max_width=width, face=vf)
            layout.boxes[key] = _union(lab, val)
        y += 68
    line1, line2 = fields["CodeSet"], fields["CodeCrc"]
    font = mono_face(33)
    mrz_y = 500 + dy // 2
    boxes = []
    for k, line in enumerate((line1, line2)):
        xy = (32 + dx // 2, mrz_y + 52 * k)
        draw.text(xy, line, font=font, fill=(20, 20, 25))
        boxes.append(draw.textbbox(xy, line, font=font))
    layout.boxes["MRZ"] = _union(*boxes)
    truth = {key: fields[key] for key in SCORED_FIELDS[PASSPORT]}
    # The MRZ answers every scored field; covering the visual zone hides none of them.
    visual = ["Place", "Issue", "Nationality", "Given"]
    return Drawn(card, layout, truth, visual, dict.fromkeys(visual, ()))


def _mykad_person(rng: random.Random, held_out: bool) -> dict[str, Any]:
    sex = rng.choice("MF")
    first = rng.choice(_MY_MALE if sex == "M" else _MY_FEMALE)
    if held_out:  # first names by sex, as the main lists are
        male, female = ["KHAIRUL ANUAR", "LOW KAH WAI", "SURESH"], ["ROSNAH", "ONG SIEW LAN", "DIVYA"]
        first = rng.choice(male if sex == "M" else female)
    malay = not any(first.startswith(p) for p in ("LIM", "TAN", "WONG", "LEE", "LOW", "ONG")) and first not in (
        "RAJESH",
        "KAVITHA",
        "SURESH",
        "DIVYA",
    )
    name = f"{first} {'BIN' if sex == 'M' else 'BINTI'} {rng.choice(_MY_FATHERS)}" if malay else first
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    postcode, town, state, place = rng.choice(_MY_TOWNS)
    lines = [f"NO {rng.randint(1, 150)} {rng.choice(_MY_STREETS)} {rng.randint(1, 12)}"]
    if rng.random() < 0.5:
        lines.append(f"TAMAN {rng.choice(['SRI', 'BUKIT', 'DESA'])} {rng.choice(['INDAH', 'JAYA', 'PERMAI'])}")
    lines += [f"{postcode} {town}", state]
    number = numbers.mykad_number(born, place, rng.randrange(10_000), sex)
    religion = rng.choice(_MY_RELIGIONS) if not malay else "ISLAM"
    return {"sex": sex, "name": name, "born": born, "lines": lines, "number": number, "religion": religion}


def draw_mykad(rng: random.Random, settings: Any) -> Drawn:
    """A MyKad front: header, the number, portrait, name and address block, citizenship, sex."""
    from PIL import ImageDraw

    from tencent_ocr_emulator.cards import CARD_W, _card_base, _jitter, _Layout, _portrait, _Style, _text, _union

    person = _mykad_person(rng, rng.random() < settings.extra_names)
    card = _card_base(rng, (214 + _jitter(rng, 5), 226 + _jitter(rng, 5), 242 + _jitter(rng, 4)))
    draw = ImageDraw.Draw(card)
    st = _Style.draw(rng, settings)
    dx, dy, vs, vf = st.dx, st.dy, st.vs, st.face
    value_c = (15, 15, 20)
    layout = _Layout()
    _text(draw, (40 + dx, 24 + dy), "KAD PENGENALAN", 34, 700, (30, 60, 140), face=vf)
    _text(draw, (40 + dx, 66 + dy), "MALAYSIA", 30, 700, (30, 60, 140), face=vf)
    _text(draw, (660 + dx, 30 + dy), "MyKad", 44, 700, (170, 30, 40), face=vf)
    layout.boxes["ID"] = _text(draw, (40 + dx, 150 + dy), person["number"], vs + 8, 700, value_c, face=vf)
    card.paste(_portrait(rng, (210, 260)), (730 + dx, 130 + dy))
    name_box = _text(draw, (40 + dx, 300 + dy + st.rows[0]), person["name"], vs - 2, 700, value_c, 640, vf)
    layout.boxes["Name"] = name_box
    boxes = []
    y = name_box[3] + 14
    for line in person["lines"]:
        boxes.append(_text(draw, (40 + dx, y), line, vs - 6, 700, value_c, max_width=640, face=vf))
        y = boxes[-1][3] + 8
    layout.boxes["Address"] = _union(*boxes)
    right = 730 + dx
    layout.boxes["Citizenship"] = _text(draw, (right, 420 + dy), "WARGANEGARA", vs - 8, 700, value_c, face=vf)
    if person["religion"]:
        layout.boxes["Religion"] = _text(draw, (right, 470 + dy), person["religion"], vs - 8, 700, value_c, face=vf)
    sex_word = "LELAKI" if person["sex"] == "M" else "PEREMPUAN"
    layout.boxes["Sex"] = _text(
        draw, (right, 520 + dy), sex_word, vs - 8, 700, value_c, max_width=CARD_W - right - 10, face=vf
    )
    truth = {
        "ID": person["number"],
        "Name": person["name"],
        "Address": " ".join(person["lines"]),
        "Sex": sex_word,
        "Type": "MyKad",
        "Birthday": f"{person['born']:%d/%m/%Y}",
    }
    return Drawn(card, layout, truth, ["Sex", "Citizenship"], {"Sex": ("Sex",)})


DRAWERS = {"passport": draw_passport, "mykad": draw_mykad}
