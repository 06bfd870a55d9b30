"""What the emulator "sees" in an image: a pluggable recogniser behind one small interface.

The server handles signing, limits, faults and image checks; a recogniser only turns verified
image bytes into the asked action's response fields. ``fixture`` answers from a table keyed by image
SHA-256 (deterministic, for tests and benchmarks); ``local`` (optional extra) runs a real OCR
engine on the image. A card of one document sent to another document's action is not found, as
the service answers: the action's "no card" error (``FailedOperation.ImageNoIdCard``,
``NoMASIDCard``, ``NoHKIDCard`` or ``NoPassport``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tencent_ocr_emulator import actions, synthetic

SINGAPORE = "RecognizeSingaporeIDCardOCR"


@dataclass
class Recognition:
    """The action's answer for one image, in the service's field names (``ChName``, ``ID``, ...).

    Fields are flat strings: ``Value`` objects by their field name, nested objects as
    ``Object.Field``, integers and booleans as text; the server gives each its type.
    """

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

    A recogniser that accepts a keyword ``action`` is told which action was called (it should
    raise :class:`RecognitionFailed` with that action's "no card" code for another document);
    one that does not is called for every action and its fields are served as they are.
    A recogniser may also accept a keyword ``abandoned: Callable[[], bool]``: the server then passes
    a check that turns true when the client has hung up, so work queued inside the recogniser can
    be dropped (raise :class:`RecognitionAbandoned`) instead of started. ``workers``, if present,
    is how many images it recognises at once: the server's default capacity.
    """

    name: str

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition: ...

    def close(self) -> None: ...


def no_card(action: str) -> RecognitionFailed:
    """The service's answer when the image holds no card of ``action``'s document."""
    facts = actions.get(action)
    code = facts.no_card_code if facts else actions.NO_ID_CARD
    return RecognitionFailed(code, "No card of this document type was found in the image.")


class FixtureRecogniser:
    """Answers from a table ``{sha256: {"Action": ..., "Fields": {...}, "WarnCardInfos": [...]}}``.

    An entry answers its ``Action`` (default: RecognizeSingaporeIDCardOCR, as in tables written
    before other actions were served); another action gets its "no card" error. Images missing
    from the table get a deterministic synthetic card of the asked action (``unknown="synthesise"``,
    handy for load tests over arbitrary images) or the action's "no card" error (``unknown="reject"``).
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

    def add(
        self, image: bytes, fields: dict[str, str], warn_codes: list[int] | None = None, *, action: str = SINGAPORE
    ) -> str:
        """Register the answer of ``action`` for ``image``; returns its SHA-256."""
        digest = hashlib.sha256(image).hexdigest()
        self.table[digest] = fixture_entry(fields, warn_codes, action=action)
        return digest

    def recognise(self, image: bytes, *, return_head_image: bool, action: str = SINGAPORE) -> Recognition:
        digest = hashlib.sha256(image).hexdigest()
        entry = self.table.get(digest)
        if entry is None:
            if self.unknown == "reject" or actions.get(action) is None:
                raise no_card(action)
            return Recognition(fields=synthetic.answer(action, digest), photo=image[:64] if return_head_image else None)
        if "Error" in entry:
            raise RecognitionFailed(entry["Error"]["Code"], entry["Error"]["Message"])
        if entry.get("Action", SINGAPORE) != action:
            raise no_card(action)
        photo = image[:64] if return_head_image else None  # stand-in portrait bytes, deterministic
        return Recognition(
            fields=dict(entry.get("Fields", {})),
            warn_codes=[int(c) for c in entry.get("WarnCardInfos", [])],
            photo=photo,
        )

    def close(self) -> None:
        return None


def fixture_entry(
    fields: dict[str, str], warn_codes: list[int] | None = None, *, action: str = SINGAPORE
) -> dict[str, Any]:
    """One table entry; unknown actions and field names are refused so fixtures cannot silently drift."""
    facts = actions.get(action)
    if facts is None:
        raise ValueError(f"unknown action {action!r}; expected one of {sorted(actions.ACTIONS)}")
    unknown = set(fields) - set(facts.recognised_fields)
    if unknown:
        raise ValueError(
            f"unknown response fields {sorted(unknown)} for {action}; expected some of {list(facts.recognised_fields)}"
        )
    return {"Action": action, "Fields": dict(fields), "WarnCardInfos": list(warn_codes or [])}


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
