"""OCR lines -> MLIDPassportOCR and MLIDCardOCR answers: a passport's MRZ and a MyKad front.

Passport: the answer is what the machine-readable zone says (as the action documents). The two TD3
lines are found by their shape, each character read as its position requires (digits where the
standard puts digits), and OCR confusions in the document number and dates are resolved by the
ICAO 9303 check digits: a second line whose checks all hold is exact. Runs of the ``<`` filler,
which OCR may miscount, are re-padded to the standard widths. The names (line 1 has no check digit)
are compared with the visual zone's "Surname" / "Given names" values when those read cleanly.

MyKad: the number ``YYMMDD-PB-###G`` (its date must exist), the name on the line under it, the
address block under the name, the sex word (LELAKI / PEREMPUAN); the birth date is the one the
number encodes. Fields missing on a sharp image are what the warn heuristics call covered.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
import statistics
from dataclasses import replace

from tencent_ocr_emulator import numbers
from tencent_ocr_emulator.local_engine.lines import OcrLine
from tencent_ocr_emulator.local_engine.parse import ParsedCard, deskew, match_labels, norm

_FILLER = str.maketrans(
    {"«": "<", "‹": "<", "く": "<", "＜": "<", "(": "<", "{": "<", "[": "<", "Λ": "<", "∧": "<", "^": "<"}
)
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5"})
_AS_DIGIT_MORE = str.maketrans({"B": "8", "G": "6", "T": "7", "A": "4", "<": "0"})
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G", "7": "T", "4": "A"})
# Alternatives tried for an alphanumeric MRZ character when a check digit fails.
_CONFUSABLE = {"0": "O", "O": "0D", "D": "0", "1": "I", "I": "1", "5": "S", "S": "5", "8": "B", "B": "8", "2": "Z"}
_CONFUSABLE |= {"Z": "2", "6": "G", "G": "6"}
_CONFUSABLE_ALL = frozenset("0O1I5S8B2Z6G4AQD")
PASSPORT_LABELS = {
    "type": "Type",
    "passportno": "ID",
    "surname": "Surname",
    "givennames": "GivenName",
    "nationality": "Nationality",
    "sex": "Sex",
    "dateofbirth": "DateOfBirth",
    "placeofbirth": "BirthPlace",
    "dateofissue": "DateOfIssuance",
    "dateofexpiry": "DateOfExpiration",
}
PASSPORT_REQUIRED = ("ID", "Surname", "DateOfBirth", "Sex", "DateOfExpiration", "Nationality", "CodeCrc")
MYKAD_REQUIRED = ("ID", "Name", "Address", "Sex", "Citizenship")
_MYKAD_ID = re.compile(r"(\d{6})\s*[-~–]?\s*(\d{2})\s*[-~–]?\s*(\d{4})")
_SEX_WORDS = {"LELAKI": "LELAKI", "PEREMPUAN": "PEREMPUAN"}


def mrz_text(text: str) -> str:
    """An OCR line as MRZ characters: upper case, no spaces, filler look-alikes as ``<``."""
    return re.sub(r"[^A-Z0-9<]", "", text.upper().translate(_FILLER))


def _is_mrz(text: str) -> bool:
    t = mrz_text(text)
    return len(t) >= 30 and (t.count("<") >= 2 or sum(c.isdigit() for c in t) >= 12)


def _digits(text: str) -> str:
    return text.translate(_AS_DIGIT).translate(_AS_DIGIT_MORE)


def _candidates(value: str, check: str, *, alnum: bool) -> list[str]:
    """``value`` and its corrections whose check digit holds, fewest changes first.

    A letter between digits is first read as the digit it resembles (``1O6`` -> ``106``). One check
    digit lets a wrong correction through one time in ten, so the caller also tests the composite.
    """
    value = re.sub(r"(?<=\d)[OQDUILZS](?=\d)", lambda m: m.group().translate(_AS_DIGIT), value)
    found = [value] if numbers.mrz_check_digit(value) == check else []
    if not alnum:
        return found
    spots = [i for i, c in enumerate(value) if c in _CONFUSABLE]
    for count in (1, 2):
        for chosen in itertools.combinations(spots, count):
            for repl in itertools.product(*(_CONFUSABLE[value[i]] for i in chosen)):
                candidate = list(value)
                for i, c in zip(chosen, repl, strict=True):
                    candidate[i] = c
                fixed = "".join(candidate)
                if numbers.mrz_check_digit(fixed) == check and fixed not in found:
                    found.append(fixed)
    return found


def read_line2(text: str) -> str | None:
    """A TD3 second line, corrected by its check digits; None unless every check holds."""
    t = mrz_text(text)
    if len(t) < 30:
        return None
    head, tail = t[:28], t[28:]
    doc, doc_check = head[0:9], _digits(head[9])
    nationality = head[10:13].replace("<", "").translate(_AS_LETTER).ljust(3, "<")
    born, born_check = _digits(head[13:19]), _digits(head[19])
    sex = head[20] if head[20] in "MF<" else {"H": "M", "E": "F", "P": "F"}.get(head[20], "<")
    expires, expires_check = _digits(head[21:27]), _digits(head[27])
    composite = _digits(tail[-1]) if tail else "0"
    optional = tail[:-1].rstrip("<")
    optional_check = "<"
    if optional:  # a personal number ends with its own check digit
        optional, optional_check = optional[:-1], _digits(optional[-1])
    optional = optional.ljust(14, "<")[:14]
    dates_read = (born + born_check + expires + expires_check).isdigit()
    if not dates_read or not _candidates(born, born_check, alnum=False):
        return None  # a letter left in a date is a misread, whatever its check digit says
    if not _candidates(expires, expires_check, alnum=False):
        return None
    for fixed_doc in _candidates(doc, doc_check, alnum=True):  # the composite check decides
        line = fixed_doc + doc_check + nationality + born + born_check + sex + expires + expires_check
        line += optional + optional_check + composite
        if numbers.td3_valid(line):
            return line
    return None


def read_line1(text: str) -> tuple[str, str, str, str] | None:
    """(document type, issuing state, surname, given names) from a TD3 first line."""
    t = mrz_text(text)
    if len(t) < 10 or t[0] not in "PV":
        return None
    issuing = t[2:5].translate(_AS_LETTER)
    names = re.sub(r"<+$", "", t[5:]).translate(_AS_LETTER)
    surname, _, given = re.sub(r"<{3,}", "<<", names).partition("<<")
    clean = lambda part: re.sub(r"<+", " ", part).strip()  # noqa: E731
    words = clean(given).split()
    # Blurred fillers read as short runs of C / E / K at the end ("BUDI CC EC C"): not names.
    trailing = 0
    while trailing < len(words) - 1 and re.fullmatch(r"[CEKL]{1,3}", words[-1 - trailing]):
        trailing += 1
    if trailing >= 2:
        words = words[:-trailing]
    return t[0], issuing, clean(surname), " ".join(words)


def _date(yymmdd: str, *, future: bool) -> str:
    """``YYMMDD`` as ``YYYY-MM-DD``: expiry dates in this century, birth dates not after today."""
    if not (len(yymmdd) == 6 and yymmdd.isdigit()):
        return ""
    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    year = 2000 + yy if future or 2000 + yy <= dt.date.today().year else 1900 + yy
    try:
        return dt.date(year, mm, dd).isoformat()
    except ValueError:
        return ""


def _with_visual_number(line2: str, visual: str) -> str:
    """Line 2 with the visual zone's passport number where the MRZ's differs only by characters
    whose check values are equal mod 10 (``G``/``6``, ``O``/``4``...): the checks cannot tell them apart."""
    mrz_number = line2[0:9]
    number = visual.ljust(9, "<")[:9]
    if number == mrz_number or len(visual) != len(mrz_number.rstrip("<")):
        return line2
    pairs = zip(number, mrz_number, strict=True)
    if any(a != b and (a not in _CONFUSABLE_ALL or b not in _CONFUSABLE_ALL) for a, b in pairs):
        return line2
    fixed = number + line2[9:]
    return fixed if numbers.td3_valid(fixed) else line2


def _visual_value(lines: list[OcrLine], labels: dict[str, int], label: str, *, raw: bool = False) -> str:
    """The value printed under a visual-zone label, as MRZ letters (for the names), or as read (``raw``)."""
    index = labels.get(label)
    if index is None:
        return ""
    anchor = lines[index]
    below = [
        ln
        for ln in lines
        if ln.top > anchor.top + 0.5 * anchor.height
        and abs(ln.left - anchor.left) < 1.5 * anchor.height
        and ln.top - anchor.bottom < 1.6 * anchor.height
    ]
    if not below:
        return ""
    text = min(below, key=lambda ln: ln.top).text.upper()
    if raw:
        return re.sub(r"[^A-Z0-9]", "", text)
    return re.sub(r"\s+", " ", re.sub(r"[^A-Z' -]", "", text)).strip()


def _prefer_visual(mrz_name: str, visual: str) -> str:
    """The MRZ name, unless the visual zone reads the same name with the MRZ's letters garbled."""
    letters = re.sub(r"[^A-Z ]", "", visual.replace("-", " ").replace("'", ""))
    letters = re.sub(r"\s+", " ", letters).strip()
    if not letters or letters.replace(" ", "") == mrz_name.replace(" ", ""):
        return mrz_name  # the same letters: the MRZ's separators are the reliable spaces
    if len(letters.split()) != len(mrz_name.split()):
        return mrz_name
    close = difflib.SequenceMatcher(None, mrz_name, letters).ratio() >= 0.75
    return letters if close and len(letters) >= len(mrz_name) - 1 else mrz_name


def mrz_rereads(lines: list[OcrLine], parsed: ParsedCard) -> list[int]:
    """Lines worth a second, orientation-free read: the wide ones, when an MRZ line did not parse.

    The angle classifier may turn a line of fillers upside down (``0>>>>...``); recognition alone
    on the line's box reads it the right way up.
    """
    if "CodeCrc" in parsed.fields and "CodeSet" in parsed.fields:
        return []
    return [i for i, ln in enumerate(lines) if ln.right - ln.left > 12 * ln.height]


def parse_passport(lines: list[OcrLine]) -> ParsedCard:
    """A passport data page's MLIDPassportOCR fields, read from its MRZ."""
    straight = deskew(lines)
    order = sorted(range(len(straight)), key=lambda i: straight[i].cy)
    labels: dict[str, int] = {}
    for i, ln in enumerate(straight):
        for label in match_labels(ln.text, PASSPORT_LABELS):
            labels.setdefault(label, i)
    candidates = [i for i in order if _is_mrz(straight[i].text)]
    found2 = next(((i, fixed) for i in reversed(candidates) if (fixed := read_line2(straight[i].text))), None)
    line2 = found2[1] if found2 else None
    if found2 is not None:  # line 1 is the MRZ line just above line 2 (a merged visual line is not)
        above = [i for i in candidates if straight[i].cy < straight[found2[0]].cy - 0.5 * straight[found2[0]].height]
        candidates = sorted(above, key=lambda i: straight[found2[0]].cy - straight[i].cy) + candidates
    first = next((r for i in candidates if (r := read_line1(straight[i].text))), None)
    if line2 is not None:
        line2 = _with_visual_number(line2, _visual_value(straight, labels, "passportno", raw=True))
    if line2 is None and first is None and not labels:
        return ParsedCard(side=None)
    fields: dict[str, str] = {}
    if first is not None:
        doc_type, issuing, surname, given = first
        surname = _prefer_visual(surname, _visual_value(straight, labels, "surname"))
        given = _prefer_visual(given, _visual_value(straight, labels, "givennames"))
        fields |= {"Type": doc_type, "IssuingCountry": issuing, "Surname": surname, "GivenName": given}
        fields["Name"] = f"{surname} {given}".strip()
        fields["CodeSet"] = (f"{doc_type}<{issuing}" + numbers.mrz_name(surname, given))[:44]
    if line2 is not None:
        fields |= {
            "ID": line2[0:9].rstrip("<"),
            "Nationality": line2[10:13].rstrip("<"),
            "DateOfBirth": _date(line2[13:19], future=False),
            "Sex": line2[20].replace("<", ""),
            "DateOfExpiration": _date(line2[21:27], future=True),
            "CodeCrc": line2,
        }
    fields = {k: v for k, v in fields.items() if v}
    missing = [k for k in PASSPORT_REQUIRED if k not in fields]
    missing += [f"label:{label}" for label in PASSPORT_LABELS if label not in labels]
    photo = None
    if "type" in labels:  # the portrait stands left of the visual zone, from its first row down
        t = straight[labels["type"]]
        h = t.height
        photo = _box(t.left - 8.9 * h, t.top + 0.6 * h, t.left - 1.5 * h, t.top + 9.9 * h)
    return ParsedCard(side="front", fields=fields, missing=missing, labels_found=sorted(labels), photo_box=photo)


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
    return int(max(0, x0)), int(max(0, y0)), int(max(0, x1)), int(max(0, y1))


def _mykad_birth(number: str) -> str:
    yy, mm, dd = int(number[:2]), int(number[2:4]), int(number[4:6])
    year = 2000 + yy if 2000 + yy <= dt.date.today().year else 1900 + yy
    try:
        return dt.date(year, mm, dd).strftime("%d/%m/%Y")
    except ValueError:
        return ""


def _sex_word(text: str) -> str:
    word = re.sub(r"[^A-Z]", "", text.upper())
    if not word:
        return ""
    best = max(_SEX_WORDS, key=lambda w: difflib.SequenceMatcher(None, word, w).ratio())
    return _SEX_WORDS[best] if difflib.SequenceMatcher(None, word, best).ratio() >= 0.75 else ""


def mykad_name(text: str) -> str:
    """A MyKad name as printed: BIN / BINTI (son / daughter of) always stand apart, which OCR may
    not keep (``ROSNAH BINTIISMAIL``)."""
    name = re.sub(r"\s+", " ", text.upper()).strip()
    if re.search(r"\b(BIN|BINTI)\b", name) or " " not in name:
        return name  # already apart, or a single word (BINTANG is a name)
    # BINTI glued to a name, or BIN glued to five letters or more (BINTANG stays a name).
    name = re.sub(r"(?<= )BINTI(?=[A-Z]{3,}\b)", "BINTI ", name)
    name = re.sub(r"(?<= )BIN(?!TI)(?=[A-Z]{5,}\b)", "BIN ", name)
    return re.sub(r"(?<=[A-Z]{3})(BINTI|BIN)\b", r" \1", name)


def mykad_address(text: str) -> str:
    """A MyKad address: a word and its number always apart (``NO 41``, ``SETIA 7``, ``50450 IPOH``)."""
    text = re.sub(r"\b([A-Z]{2,})(\d)", r"\1 \2", text.upper())
    text = re.sub(r"\b(\d+)(?=[A-Z]{2,})", r"\1 ", text)
    return re.sub(r"\s+", " ", text).strip()


def parse_mykad(lines: list[OcrLine]) -> ParsedCard:
    """A MyKad front's MLIDCardOCR fields."""
    straight = deskew(lines)
    header = any(n in norm(ln.text) for ln in straight for n in ("kadpengenalan", "mykad", "malaysia"))
    found: tuple[int, str] | None = None
    for i, ln in enumerate(straight):
        match = _MYKAD_ID.search(ln.text.upper().translate(_AS_DIGIT))
        if match and _mykad_birth(match.group(1)):
            found = (i, f"{match.group(1)}-{match.group(2)}-{match.group(3)}")
            break
    if found is None and not header:
        return ParsedCard(side=None)
    fields: dict[str, str] = {}
    if any("mykad" in norm(ln.text) for ln in straight):
        fields["Type"] = "MyKad"
    citizen_line = next(
        (ln for ln in straight if difflib.SequenceMatcher(None, norm(ln.text), "warganegara").ratio() >= 0.8), None
    )
    citizen = citizen_line is not None
    used: set[int] = set()
    for i, ln in enumerate(straight):
        if sex := _sex_word(ln.text):
            fields["Sex"] = sex
            used.add(i)
    if found is not None:
        index, number = found
        fields["ID"] = number
        fields["Birthday"] = _mykad_birth(number)
        anchor = straight[index]
        height = statistics.median(ln.height for ln in straight)
        column = sorted(
            (
                i
                for i, ln in enumerate(straight)
                if i not in used and ln.cy > anchor.bottom and abs(ln.left - anchor.left) < 1.5 * height
            ),
            key=lambda i: straight[i].cy,
        )
        block: list[OcrLine] = []
        for i in column:
            if block and straight[i].top - block[-1].bottom > 1.6 * height:
                break
            block.append(straight[i])
        if block:
            fields["Name"] = mykad_name(block[0].text)
            address = " ".join(ln.text.upper().strip() for ln in block[1:])
            if address:  # a postcode is five digits apart from its town ("30000 IPOH")
                fields["Address"] = mykad_address(address)
    if citizen:
        fields.setdefault("_citizenship", "WARGANEGARA")
    missing = [k for k in MYKAD_REQUIRED if k not in fields and not (k == "Citizenship" and citizen)]
    fields.pop("_citizenship", None)
    photo = None
    if citizen_line is not None:  # the portrait stands above the citizenship line
        h = citizen_line.height
        photo = _box(
            citizen_line.left, citizen_line.top - 9.0 * h, citizen_line.left + 6.6 * h, citizen_line.top - 0.8 * h
        )
    return ParsedCard(side="front", fields=fields, missing=missing, photo_box=photo)


def name_box(lines: list[OcrLine], name: str) -> tuple[int, int, int, int] | None:
    """The MyKad name's line with a margin: read alone, the model keeps word spaces it may drop."""
    for ln in lines:
        if name and re.sub(r"\s+", " ", ln.text.upper()).strip() == name:
            pad = 0.3 * ln.height
            return _box(ln.left - pad, ln.top - pad, ln.right + pad, ln.bottom + pad)
    return None


def with_name(parsed: ParsedCard, text: str) -> ParsedCard:
    """Take the re-read name when it has the same letters and more word breaks."""
    name, again = parsed.fields.get("Name", ""), re.sub(r"\s+", " ", text.upper()).strip()
    if not name or again.replace(" ", "") != name.replace(" ", "") or again.count(" ") <= name.count(" "):
        return parsed
    return replace(parsed, fields={**parsed.fields, "Name": again})
