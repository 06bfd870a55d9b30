"""LocalRecogniser: real offline OCR behind the emulator, on a pool of processes.

Each worker process loads the model once; ``recognise`` only submits the image and waits, so the
emulator's handler threads can call it concurrently without a lock, and every core is used.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace

from tencent_ocr_emulator import actions
from tencent_ocr_emulator.recognisers import Recognition, RecognitionAbandoned, RecognitionFailed

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a worker sends back (plain data: exceptions with custom arguments do not pickle)."""

    fields: dict[str, str] = field(default_factory=dict)
    warn_codes: list[int] = field(default_factory=list)
    photo: bytes | None = None
    error: tuple[str, str] | None = None
    side: str | None = None
    measures: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


SINGAPORE = "RecognizeSingaporeIDCardOCR"
# The actions the offline engine reads; any other action's document is never found.
READS = frozenset({SINGAPORE, "MLIDPassportOCR", "MLIDCardOCR"})


def analyse(image: bytes, return_head_image: bool = False, threads: int = 1, action: str = SINGAPORE) -> Outcome:
    """Decode, OCR, parse and judge one image (runs inside a worker process)."""
    started = time.perf_counter()
    outcome = _analyse(image, return_head_image, threads, action)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _analyse(image: bytes, return_head_image: bool, threads: int, action: str) -> Outcome:
    import cv2

    from tencent_ocr_emulator.local_engine import documents, ocr, parse, quality

    facts = actions.get(action)
    no_card = facts.no_card_code if facts else actions.NO_ID_CARD
    if action not in READS:  # a document the offline engine has not learnt: it finds none
        return Outcome(error=(no_card, "The offline engine does not read this document type."))
    bgr = ocr.decode(image)
    if bgr is None:
        return Outcome(error=("FailedOperation.ImageDecodeFailed", "The image could not be decoded."))
    lines = ocr.read_lines(bgr, threads)
    if action == SINGAPORE:
        parsed = parse.parse_lines(lines)
        if parsed.sex_probe is not None:
            parsed = parse.with_sex(parsed, ocr.read_crop(bgr, parsed.sex_probe, threads))
        if parsed.name_probe is not None:
            parsed = parse.with_name(parsed, ocr.read_crop(bgr, parsed.name_probe, threads))
    elif action == "MLIDPassportOCR":
        parsed = documents.parse_passport(lines)
        again = documents.mrz_rereads(lines, parsed)
        if again:
            boxes = {
                i: (int(lines[i].left), int(lines[i].top), int(lines[i].right), int(lines[i].bottom)) for i in again
            }
            # Added beside the first reading, never instead: each line is taken only if its checks hold.
            lines = lines + [replace(lines[i], text=ocr.read_crop(bgr, box, threads)) for i, box in boxes.items()]
            parsed = documents.parse_passport(lines)
    else:
        parsed = documents.parse_mykad(lines)
        box = documents.name_box(lines, parsed.fields.get("Name", ""))
        if box is not None:
            parsed = documents.with_name(parsed, ocr.read_crop(bgr, box, threads))
    if parsed.side is None:
        return Outcome(error=(no_card, "No card of this document type was found in the image."))
    measures = quality.measure(bgr, lines)
    photo = None
    if return_head_image and parsed.photo_box is not None:
        x0, y0, x1, y1 = parsed.photo_box
        crop = bgr[y0:y1, x0:x1]
        if crop.size:
            ok, buf = cv2.imencode(".jpg", crop)
            photo = buf.tobytes() if ok else None
    return Outcome(
        fields=parsed.fields,
        warn_codes=quality.warn_codes(measures, parsed),
        photo=photo,
        side=parsed.side,
        measures=vars(measures).copy(),
    )


def _warm_up() -> None:
    from tencent_ocr_emulator.local_engine import ocr

    ocr.engine()


class LocalRecogniser:
    """Reads the card image with rapidocr's bundled PP-OCR models (``pip install ...[local]``).

    ``workers`` processes (default: one per core) each hold one model. ``warm=True`` loads the
    models now instead of on the first image.
    """

    name = "local"

    def __init__(self, *, workers: int | None = None, warm: bool = False) -> None:
        from tencent_ocr_emulator.local_engine import ocr

        ocr.require()
        self.workers = max(1, workers or os.cpu_count() or 1)
        # spawn: the emulator forks from a threaded server, and fork + threads can deadlock.
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up
        )
        if warm:
            self.warm_up()

    def warm_up(self) -> None:
        """Start every worker and load its model (the first recognitions are then not slow)."""
        futures = [self._pool.submit(os.getpid) for _ in range(self.workers * 2)]
        for future in futures:
            future.result()

    def submit(self, image: bytes, *, return_head_image: bool = False, action: str = SINGAPORE) -> Future[Outcome]:
        """Queue one image for ``action``; the future's result is the worker's :class:`Outcome`."""
        return self._pool.submit(analyse, image, return_head_image, 1, action)

    def recognise(
        self,
        image: bytes,
        *,
        return_head_image: bool,
        abandoned: Callable[[], bool] | None = None,
        action: str = SINGAPORE,
    ) -> Recognition:
        """Recognise one image as ``action``'s document; while it waits for a worker, ``abandoned()``
        turning true withdraws it. Reads Singapore ICs, passports (MRZ) and MyKad fronts."""
        future = self.submit(image, return_head_image=return_head_image, action=action)
        try:
            outcome = self._wait(future, abandoned)
        except RecognitionAbandoned:
            raise
        except Exception as exc:  # a crashed worker or an engine bug: answer as the service does
            log.error("local OCR failed: %s", type(exc).__name__)
            raise RecognitionFailed("FailedOperation.OcrFailed", "OCR failed.") from exc
        if outcome.error is not None:
            raise RecognitionFailed(*outcome.error)
        log.debug("local OCR: side=%s warn=%s", outcome.side, outcome.warn_codes)
        return Recognition(fields=dict(outcome.fields), warn_codes=list(outcome.warn_codes), photo=outcome.photo)

    @staticmethod
    def _wait(future: Future[Outcome], abandoned: Callable[[], bool] | None) -> Outcome:
        while abandoned is not None:
            try:
                return future.result(timeout=0.1)
            except FutureTimeout:
                if abandoned() and future.cancel():  # cancel() only succeeds before a worker took it
                    raise RecognitionAbandoned from None
        return future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
