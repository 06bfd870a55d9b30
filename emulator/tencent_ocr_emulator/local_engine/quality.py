"""Image heuristics -> the action's warn codes, measured where the card is (around its text).

-9108 blurry: little high-frequency energy in the text boxes, in at least one direction (see
:func:`sharpness`: defocus and camera shake alike).
-9102 photocopy: even the card's most colourful 1% has almost no chroma. -9107 reflective: a blob where the card's
colour is whitened more than half way towards white (see :func:`reflection`). -9101 covered: a
sharp card was read but required fields are missing, with nothing printed where they stand (a
field printed but unreadable, such as a blurred "F" read as "L", is not covered; on a blurred card
missing fields are put down to the blur, so a card both blurred and covered gets -9108 only).

-9103 (photo of a screen) and -9104 (edited) are never emitted. Judging them honestly needs real
recaptures and real edits to calibrate on: a moire or pixel grid, a pasted region's shifted JPEG
grid or different noise, drawn by our own generator, would only teach a detector our generator
(the trap the glare heuristic once fell into). Their cues also collide with cards that must pass:
strong JPEG recompression puts block edges on every 8 x 8 grid and wipes sensor noise, and the
card's guilloche background is itself a fine periodic pattern. A false -9104 accuses a genuine
card, so these two are left to the real service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tencent_ocr_emulator.local_engine.lines import OcrLine
from tencent_ocr_emulator.local_engine.parse import ParsedCard

# Thresholds, calibrated on generated cards (benchmarks/accuracy.py measures the result).
SHARPNESS_MIN = 1.0
CHROMA_MIN = 3.0
TEXT_HEIGHT = 32
REFLECTION_WIDTH = 320  # the card is judged at this width (pixels)
REFLECTION_MIN_COLOUR = 12.0  # a card closer to white than this has no colour to whiten
REFLECTION_OFF_LINE = 0.15
REFLECTION_MIN = 0.0015


@dataclass(frozen=True)
class Quality:
    """The raw measures behind the warn codes (logged and benchmarked, never personal)."""

    sharpness: float
    chroma: float
    reflection: float


def card_region(shape: tuple[int, ...], lines: list[OcrLine]) -> tuple[int, int, int, int]:
    """Bounding box of the text, widened to take in the portrait / thumbprint beside it."""
    h, w = shape[:2]
    if not lines:
        return 0, 0, w, h
    x0, x1 = min(ln.left for ln in lines), max(ln.right for ln in lines)
    y0, y1 = min(ln.top for ln in lines), max(ln.bottom for ln in lines)
    bw, bh = x1 - x0, y1 - y0
    return (
        int(max(0, x0 - 0.45 * bw)),
        int(max(0, y0 - 0.25 * bh)),
        int(min(w, x1 + 0.3 * bw)),
        int(min(h, y1 + 0.15 * bh)),
    )


def sharpness(gray: Any, lines: list[OcrLine]) -> float:
    """Median over text boxes of the weakest directional second derivative, per unit of contrast.

    Each box is scaled to a fixed text height; the variance of the second derivative is taken
    along 8 directions and the smallest kept, divided by the box's intensity variance. Defocus
    weakens every direction; camera shake (motion blur) only the direction of the motion, which
    a plain Laplacian averages away. Resolution and ink darkness do not matter.
    """
    import cv2
    import numpy as np

    values = []
    for ln in lines:
        x0, y0, x1, y1 = int(max(0, ln.left)), int(max(0, ln.top)), int(ln.right), int(ln.bottom)
        crop = gray[y0:y1, x0:x1]
        if crop.shape[0] < 8 or crop.shape[1] < 8:
            continue
        scale = TEXT_HEIGHT / crop.shape[0]
        crop = cv2.resize(crop, (max(8, int(crop.shape[1] * scale)), TEXT_HEIGHT), interpolation=cv2.INTER_AREA)
        crop = crop.astype(np.float32)
        contrast = float(crop.var())
        if contrast < 25:
            continue
        ixx = cv2.Sobel(crop, cv2.CV_32F, 2, 0)
        iyy = cv2.Sobel(crop, cv2.CV_32F, 0, 2)
        ixy = cv2.Sobel(crop, cv2.CV_32F, 1, 1)
        weakest = min(
            float((c * c * ixx + 2 * c * s * ixy + s * s * iyy).var())
            for c, s in ((math.cos(t), math.sin(t)) for t in (math.pi * k / 8 for k in range(8)))
        )
        values.append(weakest / contrast)
    return float(np.median(values)) if values else 0.0


def chroma(bgr: Any, region: tuple[int, int, int, int]) -> float:
    """Colourfulness (Lab a*b* distance from grey) of the most colourful 1% of the card area.

    The red header and the portrait keep their colour when strong JPEG compression has flattened
    the pale card background to grey (its chroma is quantised away first); a copy has none.
    """
    import cv2
    import numpy as np

    x0, y0, x1, y1 = region
    lab = cv2.cvtColor(bgr[y0:y1, x0:x1], cv2.COLOR_BGR2LAB).astype(np.float32)
    if lab.size == 0:
        return 0.0
    return float(np.percentile(np.hypot(lab[..., 1] - 128, lab[..., 2] - 128), 99))


def reflection(bgr: Any, region: tuple[int, int, int, int]) -> float:
    """Largest reflection on the card, as a fraction of the card area.

    A reflection adds white light: under it a pixel lies on the line from the card's own colour
    to white, more than half way (``P = C (1 - a) + 255 a`` with ``a > 0.5``). Testing that line,
    and not brightness alone, tells glare from white objects (paper, a shirt, a sticker), whose
    colour is off the line, and needs no saturated pixel, so a veil over text is found too.
    The text and fine lines are removed first by a closing; a colourless card (a copy) has no
    line to test and gives 0.
    """
    import cv2
    import numpy as np

    x0, y0, x1, y1 = region
    crop = bgr[y0:y1, x0:x1]
    if crop.size == 0:
        return 0.0
    scale = REFLECTION_WIDTH / crop.shape[1]
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    white = 255.0 - background  # each pixel's distance from white, per channel
    card = np.median(white.reshape(-1, 3), axis=0)  # the card's own colour (most of the area)
    norm = float(np.linalg.norm(card))
    if norm < REFLECTION_MIN_COLOUR:
        return 0.0
    left = white @ card / norm**2  # share of the card's colour left at each pixel (1 - a)
    off = np.linalg.norm(white - left[..., None] * card, axis=2) / norm  # distance off the line
    mask = ((left < 0.5) & (off < REFLECTION_OFF_LINE)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    largest = int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0
    return largest / float(mask.size)


def measure(bgr: Any, lines: list[OcrLine]) -> Quality:
    """All measures for one image."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    region = card_region(bgr.shape, lines)
    return Quality(sharpness=sharpness(gray, lines), chroma=chroma(bgr, region), reflection=reflection(bgr, region))


def warn_codes(quality: Quality, parsed: ParsedCard) -> list[int]:
    """The warn codes the measures and the parse call for, in the documented order."""
    codes = []
    blurry = quality.sharpness < SHARPNESS_MIN
    # Absence is evidence of a cover only on a legible card: on a blurred one, the blur explains it.
    if parsed.side is not None and not blurry and set(parsed.missing) - set(parsed.unreadable):
        codes.append(-9101)
    copy = quality.chroma < CHROMA_MIN
    if copy:
        codes.append(-9102)
    if not copy and quality.reflection >= REFLECTION_MIN:  # a colourless copy cannot show a reflection
        codes.append(-9107)
    if blurry:
        codes.append(-9108)
    return codes
