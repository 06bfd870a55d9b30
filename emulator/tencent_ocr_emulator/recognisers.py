"""What the emulator "sees" in an image: a pluggable recogniser behind one small interface.

The server handles signing, limits, faults and image checks; a recogniser only turns verified
image bytes into the action's response fields. ``fixture`` answers from a table keyed by image
SHA-256 (deterministic, for tests and benchmarks); ``local`` (optional extra) runs a real OCR
engine on the image.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tencent_ocr_emulator import nric
from tencent_ocr_emulator.api import RESPONSE_FIELDS


@dataclass
class Recognition:
    """The action's answer for one image, in the service's field names (``ChName``, ``ID``, ...)."""

    fields: dict[str, str]
    warn_codes: list[int] = field(default_factory=list)
    photo: bytes | None = None


class RecognitionFailed(Exception):
    """The image was read but holds no card the recogniser can use (mapped to a Tencent error)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class RecognitionAbandoned(Exception):
    """The client hung up before the recognition started, so it was never started (nor billed)."""


class Recogniser(Protocol):
    """Turns image bytes (already checked to be PNG / JPEG / BMP) into a :class:`Recognition`.

    A recogniser may also accept a keyword ``abandoned: Callable[[], bool]``: the server then passes
    a check that turns true when the client has hung up, so work queued inside the recogniser can
    be dropped (raise :class:`RecognitionAbandoned`) instead of started. ``workers``, if present,
    is how many images it recognises at once: the server's default capacity.
    """

    name: str

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition: ...

    def close(self) -> None: ...


def _synthesise(digest: str) -> Recognition:
    """A plausible, valid front side derived from the digest, for images not in the table."""
    number = int(digest[:12], 16)
    prefix = "STFGM"[number % 5]
    digits = f"{(number // 5) % 10_000_000:07d}"
    day, month, year = 1 + number % 28, 1 + number % 12, 1950 + number % 55
    return Recognition(
        fields={
            "ChName": "",
            "EnName": f"TEST PERSON {digest[:6].upper()}",
            "Sex": "MF"[number % 2],
            "CountryOfBirth": "SINGAPORE",
            "Birthday": f"{day:02d}-{month:02d}-{year}",
            "ID": prefix + digits + nric.check_letter(prefix, digits),
            "Race": "CHINESE",
        }
    )


class FixtureRecogniser:
    """Answers from a table ``{sha256: {"Fields": {...}, "WarnCardInfos": [...]}}``.

    Images missing from the table get a deterministic synthetic card (``unknown="synthesise"``,
    handy for load tests over arbitrary images) or ``FailedOperation.ImageNoIdCard``
    (``unknown="reject"``).
    """

    name = "fixture"

    def __init__(self, table: dict[str, dict[str, Any]] | None = None, *, unknown: str = "synthesise") -> None:
        if unknown not in ("synthesise", "reject"):
            raise ValueError("unknown must be 'synthesise' or 'reject'")
        self.table = dict(table or {})
        self.unknown = unknown

    @classmethod
    def from_file(cls, path: str | Path, *, unknown: str = "synthesise") -> FixtureRecogniser:
        """Load a JSON fixture table written by :func:`fixture_entry` / the card generator."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), unknown=unknown)

    def add(self, image: bytes, fields: dict[str, str], warn_codes: list[int] | None = None) -> str:
        """Register the answer for ``image``; returns its SHA-256."""
        digest = hashlib.sha256(image).hexdigest()
        self.table[digest] = fixture_entry(fields, warn_codes)
        return digest

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition:
        digest = hashlib.sha256(image).hexdigest()
        entry = self.table.get(digest)
        if entry is None:
            if self.unknown == "reject":
                raise RecognitionFailed("FailedOperation.ImageNoIdCard", "No ID card found in the image.")
            return _synthesise(digest)
        if "Error" in entry:
            raise RecognitionFailed(entry["Error"]["Code"], entry["Error"]["Message"])
        photo = image[:64] if return_head_image else None  # stand-in portrait bytes, deterministic
        return Recognition(
            fields=dict(entry.get("Fields", {})),
            warn_codes=[int(c) for c in entry.get("WarnCardInfos", [])],
            photo=photo,
        )

    def close(self) -> None:
        return None


def fixture_entry(fields: dict[str, str], warn_codes: list[int] | None = None) -> dict[str, Any]:
    """One table entry; unknown field names are refused so fixtures cannot silently drift."""
    unknown = set(fields) - set(RESPONSE_FIELDS)
    if unknown:
        raise ValueError(f"unknown response fields {sorted(unknown)}; expected some of {list(RESPONSE_FIELDS)}")
    return {"Fields": dict(fields), "WarnCardInfos": list(warn_codes or [])}


def load_recogniser(
    name: str, *, fixture: str | None = None, unknown: str = "synthesise", workers: int | None = None
) -> Recogniser:
    """The recogniser named on the emulator's command line (``workers``: local engine processes)."""
    if name == "fixture":
        return FixtureRecogniser.from_file(fixture, unknown=unknown) if fixture else FixtureRecogniser(unknown=unknown)
    if name == "local":
        from tencent_ocr_emulator.local_engine import LocalRecogniser

        return LocalRecogniser(workers=workers)
    raise ValueError(f"unknown recogniser {name!r}: choose 'fixture' or 'local'")
