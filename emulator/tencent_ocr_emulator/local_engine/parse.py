"""OCR lines and boxes -> the action's response fields, using a Singapore IC's printed layout.

The front carries small labels ("Name", "Race", "Date of birth", "Sex", "Country/Place of birth")
above their values and the ID beside "IDENTITY CARD NO."; the back carries "Date of issue", the
address block ending in "SINGAPORE <postal code>", and the ID over a barcode. Labels are the
first choice; when a label is unreadable (blur) its value is found by its place in the value
column. The NRIC/FIN check letter picks the ID among OCR confusions (``$``/``5``/``S``, ...).
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
import statistics
from dataclasses import dataclass, field, replace

from tencent_ocr_emulator import nric
from tencent_ocr_emulator.local_engine.lines import OcrLine

FRONT_REQUIRED = ("EnName", "Sex", "CountryOfBirth", "Birthday", "ID", "Race")
BACK_REQUIRED = ("Address", "NRICCode", "PostCode", "DateOfIssue")

FRONT_LABELS = {
    "name": "EnName",
    "race": "Race",
    "dateofbirth": "Birthday",
    "sex": "Sex",
    "countryplaceofbirth": "CountryOfBirth",
}
BACK_LABELS = {"dateofissue": "DateOfIssue", "address": "Address"}
FRONT_ANCHORS = ("identitycardno", "republicofsingapore")

# Characters OCR confuses, read as what the position in an ID requires.
_PREFIX = {"S": "S", "5": "S", "$": "S", "T": "T", "7": "T", "F": "F", "G": "G", "6": "G", "C": "G", "M": "M"}
_DIGIT = {
    "O": "0",
    "D": "0",
    "Q": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "|": "1",
    "!": "1",
    "J": "1",
    "Z": "2",
    "S": "5",
    "$": "5",
    "B": "8",
    "G": "6",
    "T": "7",
    "A": "4",
}
_CHECK = {
    "0": "DOQU",
    "1": "IJLT",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "B",
    "$": "S",
    "O": "DQU",
    "V": "U",
    "H": "HN",
    "L": "I",
}
# Words that follow a place name in Singapore street names, which OCR may glue to it.
_STREET_WORDS = ("NORTH", "SOUTH", "WEST", "ROAD", "STREET", "AVENUE", "DRIVE", "CRESCENT", "CENTRAL")
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "$": "S", "|": "I"})
_TO_DIGIT = str.maketrans(_DIGIT)
_DATE = re.compile(r"(\d{2})\s*[-./]\s*(\d{2})\s*[-./]\s*(\d{4})")
_POSTCODE = re.compile(r"SINGAPORE\s*(\d{6})\b")
_CJK = re.compile(r"[\u3400-\u9fff]")
# Singapore prints Chinese names in simplified characters; the model sometimes answers with the
# traditional form of a common surname or name character.
_SIMPLIFIED = str.maketrans(
    "黃陳張劉許鄭楊葉吳郭潘莊蘇謝羅盧鍾馮韓傑偉麗華強紅鳳龍進義俊賢慧玲倫",
    "黄陈张刘许郑杨叶吴郭潘庄苏谢罗卢钟冯韩杰伟丽华强红凤龙进义俊贤慧玲伦",
)


# Words printed on Singapore ICs under "Race" and "Country/Place of birth" (ICA's code tables,
# abridged). A blurred reading ("MIVAY") is snapped to the one entry it is clearly closest to.
RACES = (
    "CHINESE",
    "MALAY",
    "INDIAN",
    "EURASIAN",
    "CAUCASIAN",
    "FILIPINO",
    "JAPANESE",
    "THAI",
    "KOREAN",
    "ARAB",
    "BOYANESE",
    "JAVANESE",
    "BUGIS",
    "SIKH",
    "PAKISTANI",
    "SINHALESE",
    "BANGLADESHI",
    "VIETNAMESE",
    "BURMESE",
    "INDONESIAN",
    "TAMIL",
    "MALAYALEE",
    "PUNJABI",
    "GUJARATI",
    "BENGALI",
    "CEYLONESE",
    "PERANAKAN",
    "AMERICAN",
    "AUSTRALIAN",
    "BRITISH",
    "GERMAN",
    "FRENCH",
    "DUTCH",
)
COUNTRIES = (
    "SINGAPORE", "MALAYSIA", "CHINA", "INDIA", "INDONESIA", "PHILIPPINES", "HONG KONG", "THAILAND",
    "VIETNAM", "MYANMAR", "SRI LANKA", "BANGLADESH", "PAKISTAN", "JAPAN", "KOREA, SOUTH", "TAIWAN",
    "MACAO", "BRUNEI", "CAMBODIA", "LAOS", "NEPAL", "AUSTRALIA", "NEW ZEALAND", "UNITED KINGDOM",
    "UNITED STATES", "CANADA", "FRANCE", "GERMANY", "NETHERLANDS", "ITALY", "SPAIN", "PORTUGAL",
    "IRELAND", "SWITZERLAND", "RUSSIA", "SOUTH AFRICA", "NIGERIA", "EGYPT", "SAUDI ARABIA",
    "UNITED ARAB EMIRATES", "IRAN", "TURKEY", "BRAZIL", "MEXICO", "ARGENTINA",
)  # fmt: skip
VOCABULARY_CUTOFF = 0.6
# A label's line is about 0.6 of a value's height (21 vs 34 pt); lower than this is a label.
LABEL_HEIGHT_RATIO = 0.8
VOCABULARY_MARGIN = 0.15


@dataclass
class ParsedCard:
    """What the parser made of one image."""

    side: str | None  # "front", "back", or None when no card was recognised
    fields: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    labels_found: list[str] = field(default_factory=list)
    photo_box: tuple[int, int, int, int] | None = None
    sex_probe: tuple[int, int, int, int] | None = None  # where to re-read an undetected "Sex" value
    name_probe: tuple[int, int, int, int] | None = None  # the name line, to re-read for lost spaces
    unreadable: list[str] = field(default_factory=list)  # missing, but something is printed there


def norm(text: str) -> str:
    """Lower-case letters only: how labels are compared."""
    return re.sub(r"[^a-z]", "", text.lower())


def match_labels(text: str, labels: dict[str, str] | tuple[str, ...]) -> list[str]:
    """The labels a line reads as (a line may hold two, e.g. "Date of birth   Sex")."""
    n = norm(text)
    if not n or text.strip().isupper() and len(n) > 4 and "no" not in n:
        return []  # values are upper case; labels are not (the short "Sex"/"Name" may be)
    found = sorted((label for label in labels if label in n), key=n.index)
    if found:
        return found
    best = max(labels, key=lambda label: difflib.SequenceMatcher(None, n, label).ratio())
    return [best] if difflib.SequenceMatcher(None, n, best).ratio() >= 0.8 else []


def deskew(lines: list[OcrLine]) -> list[OcrLine]:
    """Rotate boxes so text rows are horizontal (median slope of the wider lines)."""
    wide = [ln.angle for ln in lines if ln.right - ln.left > 3 * ln.height]
    if not wide:
        return lines
    angle = statistics.median(wide)
    if abs(angle) < 0.005:
        return lines
    return [ln.rotated(angle, (0.0, 0.0)) for ln in lines]


def find_id(lines: list[OcrLine]) -> tuple[str, int | None]:
    """The best NRIC/FIN in the lines: a valid check letter wins, fewest corrections first."""
    best: tuple[int, str, int] | None = None
    raw: tuple[str, int] | None = None
    for index, line in enumerate(lines):
        text = re.sub(r"\s+", "", line.text.upper())
        for start in range(0, max(0, len(text) - 8)):
            window = text[start : start + 9]
            found = _id_candidate(window)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], found[1], index)
            if raw is None and nric.ID_PATTERN.match(window):
                raw = (window, index)
    if best is not None:
        return best[1], best[2]
    if raw is not None:
        return raw
    return "", None


def _id_candidate(window: str) -> tuple[int, str] | None:
    """(corrections, ID) for a 9-character window that reads as a valid ID, else None."""
    prefix = _PREFIX.get(window[0])
    if prefix is None:
        return None
    digits = ""
    cost = int(prefix != window[0])
    for ch in window[1:8]:
        digit = ch if ch.isdigit() else _DIGIT.get(ch)
        if digit is None:
            return None
        cost += int(digit != ch)
        digits += digit
    letter = nric.check_letter(prefix, digits)
    last = window[8]
    if last == letter:
        return cost, prefix + digits + letter
    if letter in _CHECK.get(last, ""):
        return cost + 1, prefix + digits + letter
    return None


def parse_date(text: str) -> str:
    """A printed date ``DD-MM-YYYY`` from OCR text (O/I/S read as digits), else ""."""
    match = _DATE.search(text.upper().translate(_TO_DIGIT))
    if not match:
        return ""
    day, month, year = match.groups()
    if not (1 <= int(day) <= 31 and 1 <= int(month) <= 12):
        return ""
    return f"{day}-{month}-{year}"


def clean_latin(text: str) -> str:
    """Upper-case words as printed (names, race, country): digits read back as letters."""
    text = text.upper().translate(_TO_LETTER)
    text = re.sub(r"[^A-Z /@'\-,.()]", "", text)
    text = re.sub(r"\s*/\s*", "/", text)
    if not re.search(r"\bBINT?E?\b", text):  # "ZULKIFLIBIN SALLEH": OCR lost the space before BIN
        text = re.sub(r"\b([A-Z]{3,})(BINTE|BIN)(?= )", r"\1 \2", text)
    return re.sub(r"\s+", " ", text).strip(" .,-")


def snap(text: str, vocabulary: tuple[str, ...]) -> str:
    """``text`` as the vocabulary entry it clearly reads as, else unchanged.

    Clearly: similar enough, and the runner-up is well behind (no coin toss between two entries).
    """
    if not text or text in vocabulary:
        return text
    scored = sorted(
        ((difflib.SequenceMatcher(None, text.replace(" ", ""), w.replace(" ", "")).ratio(), w) for w in vocabulary),
        reverse=True,
    )
    (best, word), (second, _) = scored[0], scored[1]
    return word if best >= VOCABULARY_CUTOFF and best - second >= VOCABULARY_MARGIN else text


def clean_cjk(text: str) -> str:
    return "".join(_CJK.findall(text)).translate(_SIMPLIFIED)


def is_cjk(text: str) -> bool:
    return len(_CJK.findall(text)) >= max(1, len(text.strip()) // 2)


def parse_sex(text: str) -> str:
    letters = re.sub(r"[^A-Z]", "", text.upper())
    return letters if letters in ("M", "F") else ""


class _Reader:
    """The shared state of one parse: deskewed lines, labels found, lines already used."""

    def __init__(self, lines: list[OcrLine], labels: dict[str, str]) -> None:
        self.lines = lines
        self.used: set[int] = set()
        self.labels: dict[str, int] = {}
        self.label_lines: set[int] = set()
        for i, line in enumerate(lines):
            found = match_labels(line.text, labels)
            for label in found:
                self.labels.setdefault(label, i)
            if found:
                self.label_lines.add(i)
        self.height = statistics.median([ln.height for ln in lines]) if lines else 1.0

    def free(self, i: int) -> bool:
        return i not in self.used and i not in self.label_lines

    def below(self, anchor: OcrLine, *, max_gap: float = 1.6, x_tol: float = 1.2) -> int | None:
        """The free line just below ``anchor`` and starting at about the same x."""
        best = None
        for i, line in enumerate(self.lines):
            if not self.free(i) or line.cy <= anchor.cy:
                continue
            gap = line.top - anchor.bottom
            if gap > max_gap * self.height or abs(line.left - anchor.left) > x_tol * self.height:
                continue
            if best is None or line.top < self.lines[best].top:
                best = i
        return best

    def take(self, i: int | None) -> OcrLine | None:
        if i is None:
            return None
        self.used.add(i)
        return self.lines[i]

    def column(self, x0: float, *, tol: float = 1.5) -> list[int]:
        """Free lines starting at ``x0`` (the value column), top to bottom."""
        found = [i for i, ln in enumerate(self.lines) if self.free(i) and abs(ln.left - x0) < tol * self.height]
        return sorted(found, key=lambda i: self.lines[i].cy)


def parse_lines(lines: list[OcrLine]) -> ParsedCard:
    """Decide the side and read every field it carries."""
    if not lines:
        return ParsedCard(side=None)
    straight = deskew(lines)
    id_number, id_index = find_id(straight)
    front_score = sum(bool(match_labels(ln.text, FRONT_LABELS)) for ln in straight)
    front_score += sum(any(a in norm(ln.text) for a in FRONT_ANCHORS) for ln in straight)
    front_score += sum(is_cjk(ln.text) for ln in straight)
    back_score = sum(bool(match_labels(ln.text, BACK_LABELS)) for ln in straight)
    back_score += sum(bool(_POSTCODE.search(_postcode_text(ln.text))) for ln in straight) * 2
    if front_score == 0 and back_score == 0 and not id_number:
        return ParsedCard(side=None)
    if back_score > front_score:
        return _parse_back(straight, id_number, id_index)
    return _parse_front(straight, lines, id_number, id_index)


def _parse_front(lines: list[OcrLine], original: list[OcrLine], id_number: str, id_index: int | None) -> ParsedCard:
    r = _Reader(lines, FRONT_LABELS)
    if id_index is not None:
        r.used.add(id_index)
    fields: dict[str, str] = {"ID": id_number}

    def labelled(label: str) -> OcrLine | None:
        index = r.labels.get(label)
        return None if index is None else r.take(r.below(lines[index]))

    # Date of birth first: its line anchors the value column and the row of "Sex".
    date_line = labelled("dateofbirth")
    if date_line is None or not parse_date(date_line.text):
        if date_line is not None:
            r.used.discard(lines.index(date_line))
        dated = [i for i, ln in enumerate(lines) if r.free(i) and parse_date(ln.text)]
        date_line = r.take(dated[0]) if dated else None
    if date_line is not None:
        fields["Birthday"] = parse_date(date_line.text)
        tail = _DATE.sub("", date_line.text.upper().translate(_TO_DIGIT))
        if parse_sex(tail):
            fields["Sex"] = parse_sex(tail)

    # A short line where the value stands that does not read as M/F: printed but unreadable
    # (blur turns F into L), which is not a covered field.
    unreadable: list[str] = []
    sex_line = labelled("sex")
    if sex_line is not None and parse_sex(sex_line.text):
        fields.setdefault("Sex", parse_sex(sex_line.text))
    elif sex_line is not None and len(norm(sex_line.text) or sex_line.text.strip()) <= 3:
        unreadable.append("Sex")
    if "Sex" not in fields and date_line is not None:
        for i, ln in enumerate(lines):
            if r.free(i) and ln.left > date_line.right and abs(ln.cy - date_line.cy) < r.height:
                if parse_sex(ln.text):
                    fields["Sex"] = parse_sex(r.take(i).text)  # type: ignore[union-attr]
                    break
                if len(ln.text.strip()) <= 3:
                    unreadable.append("Sex")

    name_line = labelled("name")
    if name_line is not None and not is_cjk(name_line.text):
        fields["EnName"] = clean_latin(name_line.text)
        ch = r.below(name_line)
        if ch is not None and is_cjk(lines[ch].text):
            fields["ChName"] = clean_cjk(r.take(ch).text)  # type: ignore[union-attr]
    race_line = labelled("race")
    if race_line is not None:
        fields["Race"] = snap(clean_latin(race_line.text), RACES)
    country_line = labelled("countryplaceofbirth")
    if country_line is not None:
        fields["CountryOfBirth"] = snap(clean_latin(country_line.text), COUNTRIES)

    # Unreadable labels: fall back on the order of the value column.
    x0 = date_line.left if date_line is not None else None
    if x0 is None and "name" in r.labels:
        x0 = lines[r.labels["name"]].left
    if x0 is not None:
        top = lines[id_index].bottom if id_index is not None else float("-inf")
        split = date_line.cy if date_line is not None else float("inf")
        column = [i for i in r.column(x0) if lines[i].cy > top]
        if date_line is not None:  # labels are printed smaller than values, even when blur garbles them
            column = [i for i in column if lines[i].height >= LABEL_HEIGHT_RATIO * date_line.height]
        above = [i for i in column if lines[i].cy < split]
        latin = [i for i in above if _is_value(lines[i].text)]
        if "ChName" not in fields:
            for i in above:
                if is_cjk(lines[i].text) and (not latin or lines[i].cy > lines[latin[0]].cy):
                    fields["ChName"] = clean_cjk(r.take(i).text)  # type: ignore[union-attr]
                    break
        if "EnName" not in fields and latin:
            fields["EnName"] = clean_latin(r.take(latin.pop(0)).text)  # type: ignore[union-attr]
        if "Race" not in fields and latin and "EnName" in fields:
            fields["Race"] = snap(clean_latin(r.take(latin[-1]).text), RACES)  # type: ignore[union-attr]
        below = [i for i in column if lines[i].cy > split and r.free(i) and _is_value(lines[i].text)]
        if "CountryOfBirth" not in fields and below:
            fields["CountryOfBirth"] = snap(clean_latin(r.take(below[0]).text), COUNTRIES)  # type: ignore[union-attr]

    fields = {k: v for k, v in fields.items() if v}
    missing = [k for k in FRONT_REQUIRED if k not in fields]
    probe = None
    if "Sex" in missing and "sex" in r.labels:  # the value is printed right under its label
        probe = below_label_box(original[r.labels["sex"]])
    elif "Sex" in missing and date_line is not None:
        probe = sex_probe_box(original[lines.index(date_line)])
    return ParsedCard(
        side="front",
        fields=fields,
        missing=missing,
        labels_found=sorted(r.labels),
        photo_box=_photo_box(original, lines, r, date_line),
        sex_probe=probe,
        # Only with its label in view: an occluder hides the label too, and its edge may read as text.
        unreadable=sorted(set(unreadable) & set(missing)) if "sex" in r.labels else [],
        name_probe=_name_probe(original, fields.get("EnName", "")),
    )


def _name_probe(original: list[OcrLine], name: str) -> tuple[int, int, int, int] | None:
    """The name line with a margin: read alone, the model keeps word spaces it may drop in a page."""
    for ln in original:
        if name and clean_latin(ln.text) == name:
            pad = 0.3 * ln.height
            return int(max(0, ln.left - pad)), int(max(0, ln.top - pad)), int(ln.right + pad), int(ln.bottom + pad)
    return None


def with_name(parsed: ParsedCard, text: str) -> ParsedCard:
    """Take the re-read name when it has the same letters and more word breaks."""
    name, again = parsed.fields.get("EnName", ""), clean_latin(text)
    if not name or again.replace(" ", "") != name.replace(" ", "") or again.count(" ") <= name.count(" "):
        return parsed
    return replace(parsed, fields={**parsed.fields, "EnName": again})


def _is_value(text: str) -> bool:
    """Values are printed in capitals; labels ("Date of birth") are not."""
    return not is_cjk(text) and bool(clean_latin(text)) and sum(c.islower() for c in text) <= 1


def sex_probe_box(date_line: OcrLine) -> tuple[int, int, int, int]:
    """The single letter M/F is the one value the detector may miss (blur): it stands on the
    date of birth's row, a few character widths right of it, along the row's slope."""
    h = date_line.height
    (_, _), (x1, y1), (x2, y2), _ = date_line.box
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    cy = my + math.tan(date_line.angle) * 3.8 * h
    return int(max(0, mx + 0.3 * h)), int(max(0, cy - 0.85 * h)), int(mx + 7.3 * h), int(cy + 0.85 * h)


def below_label_box(label: OcrLine) -> tuple[int, int, int, int]:
    """Where a value stands under its label: one value line down, a little wider than the label."""
    h = label.height
    return (
        int(max(0, label.left - 0.6 * h)),
        int(max(0, label.bottom - 0.1 * h)),
        int(label.right + 1.5 * h),
        int(label.bottom + 1.7 * h),
    )


def with_sex(parsed: ParsedCard, text: str) -> ParsedCard:
    """The parse completed by a re-read of the probe box (which may take in the label "Sex")."""
    sex = parse_sex(re.sub(r"^\s*SE[XK]\b", "", text.upper()))
    if not sex:
        if text.strip() and len(norm(text) or text.strip()) <= 4 and "sex" in parsed.labels_found:
            return replace(parsed, unreadable=sorted({*parsed.unreadable, "Sex"}))
        return parsed
    fields = {**parsed.fields, "Sex": sex}
    missing = [k for k in parsed.missing if k != "Sex"]
    unreadable = [k for k in parsed.unreadable if k != "Sex"]
    return replace(parsed, fields=fields, missing=missing, unreadable=unreadable, sex_probe=None)


def _photo_box(
    original: list[OcrLine], lines: list[OcrLine], r: _Reader, date_line: OcrLine | None
) -> tuple[int, int, int, int] | None:
    """The portrait sits left of the value column, from the name down to the country of birth."""
    column = [original[i] for i in itertools.chain(r.used, r.label_lines) if lines[i].cy > 0]
    column = [ln for ln in column if not any(a in norm(ln.text) for a in FRONT_ANCHORS)]
    if date_line is None or not column:
        return None
    x0 = min(ln.left for ln in column)
    top, bottom = min(ln.top for ln in column), max(ln.bottom for ln in column)
    span = bottom - top
    return int(max(0, x0 - 0.8 * span)), int(max(0, top)), int(max(0, x0 - 0.05 * span)), int(bottom)


def _parse_back(lines: list[OcrLine], id_number: str, id_index: int | None) -> ParsedCard:
    r = _Reader(lines, BACK_LABELS)
    if id_index is not None:
        r.used.add(id_index)
    fields: dict[str, str] = {"NRICCode": id_number}
    issue_line = None
    if "dateofissue" in r.labels:
        issue_line = r.take(r.below(lines[r.labels["dateofissue"]]))
    if issue_line is None or not parse_date(issue_line.text):
        dated = [i for i, ln in enumerate(lines) if r.free(i) and parse_date(ln.text)]
        issue_line = r.take(dated[0]) if dated else issue_line
    if issue_line is not None:
        fields["DateOfIssue"] = parse_date(issue_line.text)

    post_index = None
    for i, ln in enumerate(lines):
        match = _POSTCODE.search(_postcode_text(ln.text))
        if r.free(i) and match:
            post_index = i
            fields["PostCode"] = match.group(1)
            break
    anchor = lines[r.labels["address"]] if "address" in r.labels else issue_line
    x0 = lines[post_index].left if post_index is not None else (anchor.left if anchor is not None else None)
    if x0 is not None:
        start = anchor.bottom if anchor is not None else float("-inf")
        end = lines[post_index].cy if post_index is not None else float("inf")
        block: list[OcrLine] = []
        for i in r.column(x0):
            ln = lines[i]
            if ln.cy <= start or ln.cy > end + 1:
                continue
            if post_index is not None and ln.height < LABEL_HEIGHT_RATIO * lines[post_index].height:
                continue  # a garbled label ("Address"), printed smaller than the address lines
            if block and ln.top - block[-1].bottom > 1.5 * r.height:
                break
            block.append(r.take(i))  # type: ignore[arg-type]
        if block and post_index is not None:
            text = " ".join(_address_text(ln.text) for ln in block)
            fields["Address"] = re.sub(r"\s+", " ", text).strip()
    fields = {k: v for k, v in fields.items() if v}
    missing = [k for k in BACK_REQUIRED if k not in fields]
    return ParsedCard(side="back", fields=fields, missing=missing, labels_found=sorted(r.labels))


def _postcode_text(text: str) -> str:
    """ "SINGAPORE 56O123" -> digits read as digits after the word, spacing normalised."""
    upper = text.upper()
    match = re.search(r"SINGAPORE\s*(\S+)", upper)
    if not match:
        return upper
    return upper[: match.start()] + "SINGAPORE " + match.group(1).translate(_TO_DIGIT)


def _address_text(text: str) -> str:
    upper = _postcode_text(text).strip()
    upper = re.sub(r"\s*#\s*", "#", upper)
    upper = re.sub(r"\s*-\s*", "-", upper)
    # A word and its number are always apart ("DRIVE 14", "AVENUE 3"); OCR may join them, and a
    # place name to the street word after it ("BEDOKNORTH ROAD").
    upper = re.sub(r"\b([A-Z]{2,})(\d)", r"\1 \2", upper)
    return re.sub(rf"\b([A-Z]{{4,}})({'|'.join(_STREET_WORDS)})\b", r"\1 \2", upper)
