"""OCR output as plain data: text lines with their boxes, independent of the OCR library.

Parsing and the warn heuristics work on these, so they can be tested on stored fixtures
without loading a model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Point = tuple[float, float]


@dataclass(frozen=True)
class OcrLine:
    """One detected text line: its text, its four corners (clockwise from top-left) and score."""

    text: str
    box: tuple[Point, Point, Point, Point]
    score: float = 1.0

    @property
    def left(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def right(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def top(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def bottom(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def cx(self) -> float:
        return sum(p[0] for p in self.box) / 4

    @property
    def cy(self) -> float:
        return sum(p[1] for p in self.box) / 4

    @property
    def height(self) -> float:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.box
        return (math.hypot(x3 - x0, y3 - y0) + math.hypot(x2 - x1, y2 - y1)) / 2

    @property
    def angle(self) -> float:
        """Slope of the top edge, in radians (positive: the line descends to the right)."""
        (x0, y0), (x1, y1) = self.box[0], self.box[1]
        return math.atan2(y1 - y0, x1 - x0)

    def rotated(self, angle: float, centre: Point) -> OcrLine:
        """The same line with its box rotated by ``-angle`` about ``centre`` (deskewing)."""
        c, s = math.cos(-angle), math.sin(-angle)
        cx, cy = centre
        box = tuple((cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in self.box)
        return OcrLine(self.text, box, self.score)  # type: ignore[arg-type]


def to_jsonable(lines: list[OcrLine]) -> list[dict[str, Any]]:
    """Lines as JSON-able dicts (the stored-fixture format)."""
    return [
        {"text": ln.text, "box": [[round(x, 1), round(y, 1)] for x, y in ln.box], "score": round(ln.score, 4)}
        for ln in lines
    ]


def from_jsonable(items: list[dict[str, Any]]) -> list[OcrLine]:
    """Inverse of :func:`to_jsonable`."""
    return [
        OcrLine(str(i["text"]), tuple((float(x), float(y)) for x, y in i["box"]), float(i.get("score", 1.0)))  # type: ignore[arg-type]
        for i in items
    ]


def load_fixture(path: str | Path) -> dict[str, Any]:
    """A stored fixture: ``{"lines": [...], ...}`` with the lines decoded."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    data["lines"] = from_jsonable(data["lines"])
    return data
