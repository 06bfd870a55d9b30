"""The rapidocr wrapper: one model per process, loaded once, images in, :class:`OcrLine` out.

rapidocr is pinned to 3.10.0 because its default PP-OCR models (Chinese + English) ship inside
the wheel; any other model, language or version would download at run time, which fails offline.
"""

from __future__ import annotations

from typing import Any

from tencent_ocr_emulator.local_engine.lines import OcrLine

INSTALL_HINT = "the local OCR engine needs its extra: pip install 'airflow-provider-tencent-ocr[local]'"

_ENGINE: Any = None


def require() -> None:
    """Fail early, with the install command, when the extra is missing."""
    import importlib.util

    for module in ("rapidocr", "onnxruntime", "cv2"):
        if importlib.util.find_spec(module) is None:
            raise ImportError(f"{module} is not installed; {INSTALL_HINT}")


def engine(threads: int = 1) -> Any:
    """This process's RapidOCR instance (default bundled models, no download, quiet logs)."""
    global _ENGINE
    if _ENGINE is None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(INSTALL_HINT) from exc
        _ENGINE = RapidOCR(
            params={
                "Global.log_level": "warning",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
    return _ENGINE


def decode(image: bytes) -> Any:
    """Image bytes -> BGR array (None when they do not decode)."""
    import cv2
    import numpy as np

    return cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)


def read_lines(bgr: Any, threads: int = 1) -> list[OcrLine]:
    """Detected and recognised text lines of a BGR image."""
    # Every step named: rapidocr keeps the flags of the previous call (read_crop turns det off).
    result = engine(threads)(bgr, use_det=True, use_cls=True, use_rec=True)
    if result is None or getattr(result, "txts", None) is None or result.boxes is None:
        return []
    return [
        OcrLine(str(text), tuple((float(x), float(y)) for x, y in box), float(score))  # type: ignore[arg-type]
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=False)
    ]


def read_crop(bgr: Any, box: tuple[int, int, int, int], threads: int = 1) -> str:
    """Recognition only (no detection) of one region: a second look at a value the detector missed."""
    x0, y0, x1, y1 = box
    crop = bgr[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if crop.size == 0:
        return ""
    result = engine(threads)(crop, use_det=False, use_cls=False, use_rec=True)
    return " ".join(str(t) for t in (getattr(result, "txts", None) or ()))


def read_line_box(bgr: Any, line: OcrLine, threads: int = 1) -> str:
    """Recognition only of one detected line, its quadrilateral warped to an upright strip.

    A second look at a line the angle classifier turned the wrong way, or one read skewed.
    """
    import cv2
    import numpy as np

    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = line.box
    width = int(max(np.hypot(x1 - x0, y1 - y0), np.hypot(x2 - x3, y2 - y3)))
    height = int(max(np.hypot(x3 - x0, y3 - y0), np.hypot(x2 - x1, y2 - y1)))
    if width < 4 or height < 4:
        return ""
    pad = int(0.15 * height)
    src = np.array(line.box, dtype=np.float32)
    dst = np.array([[pad, pad], [pad + width, pad], [pad + width, pad + height], [pad, pad + height]], np.float32)
    strip = cv2.warpPerspective(
        bgr, cv2.getPerspectiveTransform(src, dst), (width + 2 * pad, height + 2 * pad), borderMode=cv2.BORDER_REPLICATE
    )
    result = engine(threads)(strip, use_det=False, use_cls=False, use_rec=True)
    return " ".join(str(t) for t in (getattr(result, "txts", None) or ()))
