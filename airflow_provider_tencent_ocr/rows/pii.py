"""Personal data in the output: kept, masked or keyed-hashed, decided by each value's *kind*.

The rule of the protected modes (``mask``, ``hash``): no column keeps a direct identifier, a full
birth date, a full postcode or the portrait. Every column of a row declares its kind in its
dataclass metadata (``pii=<kind>``), and every API response field its kind in
``ActionSpec.field_kinds``; the functions here turn a value of a kind into what a mode writes:

=============  =====================  =====================  ==================================
kind           plain                  mask                   hash
=============  =====================  =====================  ==================================
name           as read                first character +      HMAC-SHA256 (64 hex)
identifier                            ``*****`` (length
address                               hidden)
mrz
birth_date     as read                the year (``1988``); a typed ``date`` becomes 1 January of it
date
postcode       as read                the 2-digit sector (``238823`` -> ``23``)
portrait       as read                dropped unless ``allow_portrait=True`` (then kept)
unknown        as read                masked (conservative: a field nobody classified)
None           as read (not personal data: sex, race, nationality, warn flags...)
=============  =====================  =====================  ==================================

Why keyed: Singapore IDs are a prefix, seven digits and a check letter, so there are only about
10^8 of them per prefix. A bare SHA-256 of an ID is reversed by hashing all of them in minutes on
a laptop. An HMAC-SHA256 with a secret key cannot be enumerated without the key, yet stays
stable, so hashed IDs can still be joined and de-duplicated by whoever holds the same key. Dates
and postcodes are coarsened rather than hashed in both modes: ~36,500 birth dates or ~10^5
postcodes are too few values for any keyed scheme to hide what an analyst sees by frequency.

Typed validation columns (``id_type``, ``id_checksum_valid``...) are computed by the caller
before ``PiiProtector.apply``: they must see the clear values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "FIELD_MAP",
    "MASK_SUFFIX",
    "PiiKind",
    "PiiMode",
    "PiiProtector",
    "check_portrait_allowed",
    "column_kinds",
    "hash_value",
    "known_kind",
    "mask_value",
    "postcode_sector",
    "protect_fields",
    "resolve_hmac_key",
    "year_of",
]

RowT = TypeVar("RowT")

#: What every mask ends with: a fixed number of stars, whatever the length of the value.
MASK_SUFFIX = "*****"
#: Column metadata ``pii=FIELD_MAP``: a map of API fields (``IdDocumentRow.fields``), each value
#: protected by its own field kind (``ActionSpec.field_kinds``), see :func:`protect_fields`.
FIELD_MAP = "fields"


class PiiKind(enum.StrEnum):
    """What a column or API field holds about a person; ``None`` (no kind) means not personal data."""

    NAME = "name"
    IDENTIFIER = "identifier"  # ID, passport or document number; codes printed on the card
    ADDRESS = "address"
    BIRTH_DATE = "birth_date"
    DATE = "date"  # issue and expiry dates: tied to one person's card
    POSTCODE = "postcode"
    MRZ = "mrz"  # machine-readable zone: name, number and birth date in one line
    PORTRAIT = "portrait"


_KINDS = frozenset(kind.value for kind in PiiKind)
_HASHED = frozenset({PiiKind.NAME, PiiKind.IDENTIFIER, PiiKind.ADDRESS, PiiKind.MRZ})
_DATES = frozenset({PiiKind.BIRTH_DATE, PiiKind.DATE})


class PiiMode(enum.StrEnum):
    """How personal data is written: as read, masked, or keyed-hashed (see the module table)."""

    PLAIN = "plain"
    MASK = "mask"
    HASH = "hash"

    @classmethod
    def parse(cls, value: PiiMode | str | None) -> PiiMode:
        """A mode from an operator argument; ``None`` means the default, ``plain``."""
        if value is None:
            return cls.PLAIN
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower() if isinstance(value, str) else None
        for mode in cls:
            if mode.value == text:
                return mode
        allowed = ", ".join(repr(mode.value) for mode in cls)
        shown = repr(value) if isinstance(value, str) and len(value) <= 20 else f"a {type(value).__name__}"
        raise ValueError(f"pii must be one of {allowed}; got {shown}")


# -- one function per protection -------------------------------------------------------------------


def mask_value(value: str) -> str:
    """The first character and a fixed ``*****`` (``S1234567D`` -> ``S*****``); empty stays empty.

    The length is hidden: ``TAN AH KOW`` and ``TAN`` mask alike. A one-character value becomes
    ``******`` (keeping its first character would keep all of it).
    """
    if not value:
        return ""
    if len(value) == 1:
        return "*" + MASK_SUFFIX
    return value[0] + MASK_SUFFIX


def hash_value(value: str, key: bytes) -> str:
    """HMAC-SHA256 of the UTF-8 value, as 64 hex characters; empty stays empty.

    Keyed on purpose: a bare SHA-256 of an NRIC/FIN is reversible by enumerating the ~10^8
    possible IDs. The exact string is hashed (no case or space folding), so join only values
    normalised the same way. Empty stays empty so "nothing was read" remains visible.
    """
    if not value:
        return ""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def year_of(value: str) -> str:
    """The year of a card date as four digits (``12/04/1988`` -> ``1988``); empty stays empty.

    The first stand-alone four-digit number is the year in every format the cards use (day first,
    ISO, month names; Buddhist-era years such as ``2531`` stay as printed). Text without one
    (``880412``, a masked date) gives a mask: never the value itself.
    """
    if not value:
        return ""
    from airflow_provider_tencent_ocr.rows.validation import parse_card_date

    parsed = parse_card_date(value)
    if parsed is not None:
        return f"{parsed.year:04d}"
    match = _YEAR.search(value)
    return match.group(1) if match else mask_value(value)


def postcode_sector(value: str) -> str:
    """The first two digits of a postcode, its sector or region (``238823`` -> ``23``); empty stays empty.

    Singapore's six digits start with the postal sector; the five-digit codes of Malaysia,
    Thailand and Indonesia start with the state or province. Fewer than two digits gives a mask.
    """
    if not value:
        return ""
    digits = re.sub(r"\D", "", value)
    return digits[:2] if len(digits) >= 2 else mask_value(value)


def check_portrait_allowed(pii: PiiMode | str | None, *, wants_portrait: bool, allow_portrait: bool) -> None:
    """Refuse a portrait in a protected mode unless ``allow_portrait=True`` says it is meant.

    Called when the DAG is parsed: ``photo_output`` other than ``none`` with ``pii="mask"`` or
    ``"hash"`` would write the one column the modes exist to keep out of the output.
    """
    mode = PiiMode.parse(pii)
    if wants_portrait and mode is not PiiMode.PLAIN and not allow_portrait:
        raise ValueError(
            f"pii={mode.value!r} keeps personal data out of the output, but photo_output asks for the "
            "portrait: set photo_output='none', or pass allow_portrait=True to write portraits with "
            f"pii={mode.value!r} on purpose"
        )


# -- the protector -----------------------------------------------------------------------------------


def column_kinds(row_type: type) -> dict[str, str]:
    """Column -> kind of a row dataclass, from its fields' ``pii`` metadata (columns without one left out)."""
    kinds: dict[str, str] = {}
    for f in dataclasses.fields(row_type):
        kind = f.metadata.get("pii")
        if kind:
            kinds[f.name] = str(kind)
    return kinds


class PiiProtector:
    """Applies one ``PiiMode`` to values by kind, to response-field maps and to whole output rows.

    ``field_kinds`` resolves an action name to the kinds of its response fields (by default the
    registry's ``ActionSpec.field_kinds``); rows with a ``fields`` map use it, and a field it does
    not classify is masked in the protected modes.
    """

    def __init__(
        self,
        mode: PiiMode | str,
        key: bytes | None = None,
        *,
        allow_portrait: bool = False,
        field_kinds: Callable[[str], Mapping[str, str | None]] | None = None,
    ) -> None:
        self.mode = PiiMode.parse(mode)
        if self.mode is PiiMode.HASH and not key:
            raise ValueError(
                "pii='hash' needs an HMAC key: pass one resolved with resolve_hmac_key(conn_id=...) "
                "(the key in a connection's password) or resolve_hmac_key(variable=...) "
                "(an Airflow Variable); use at least 32 random bytes and keep it secret"
            )
        self._key = key or b""
        self.allow_portrait = allow_portrait
        self._field_kinds = field_kinds

    def __repr__(self) -> str:
        # Never show the key.
        return f"PiiProtector(mode={self.mode.value!r}, allow_portrait={self.allow_portrait!r})"

    @property
    def protected(self) -> bool:
        """Whether this mode changes anything (``mask`` or ``hash``)."""
        return self.mode is not PiiMode.PLAIN

    def protect(self, value: Any, kind: str | None) -> Any:
        """``value`` (text, typed date, or portrait bytes) as this mode writes a column or field of ``kind``.

        ``None`` stays ``None``; kind ``None`` is not personal data and stays as it is; a kind this
        module does not know is masked, never written in the clear.
        """
        if value is None or kind is None or not self.protected:
            return value
        if kind == PiiKind.PORTRAIT:
            return value if self.allow_portrait else None
        if kind in _DATES:
            if isinstance(value, dt.datetime):
                return dt.datetime(value.year, 1, 1, tzinfo=value.tzinfo)
            if isinstance(value, dt.date):
                return dt.date(value.year, 1, 1)
            return year_of(str(value))
        if not isinstance(value, str):
            return None  # a typed value of a text kind: nothing safe to keep
        if kind == PiiKind.POSTCODE:
            return postcode_sector(value)
        if self.mode is PiiMode.HASH and kind in _HASHED:
            return hash_value(value, self._key)
        return mask_value(value)  # mask mode, or a kind nobody classified

    def protect_fields(self, fields: Mapping[str, str], kinds: Mapping[str, str | None]) -> dict[str, str]:
        """A response-field map with each value protected by its field's kind; unknown fields masked."""
        if not self.protected:
            return dict(fields)
        out: dict[str, str] = {}
        for name, value in fields.items():
            kind = kinds[name] if name in kinds else _UNKNOWN
            out[name] = self.protect(value, kind)
        return out

    def apply(self, row: RowT, kinds: Mapping[str, str] | None = None) -> RowT:
        """A new row with every personal-data column protected; others and ``None`` untouched.

        A typed row (dataclass) gives its column kinds in its metadata; a dict row takes ``kinds``
        (by default the Singapore row's). A ``fields`` map column (kind ``FIELD_MAP``) is protected
        field by field with the kinds of the row's ``action``.
        """
        if not self.protected:
            return row if dataclasses.is_dataclass(row) else dict(row)  # type: ignore[call-overload]
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            changes = self._changes(lambda c: getattr(row, c), column_kinds(type(row)), getattr(row, "action", None))
            return dataclasses.replace(row, **changes)
        out = dict(row)  # type: ignore[call-overload]
        if kinds is None:
            from airflow_provider_tencent_ocr.actions.singapore_id_card import SingaporeIdCardRow

            kinds = column_kinds(SingaporeIdCardRow)
        present = {column: kind for column, kind in kinds.items() if column in out}
        out.update(self._changes(out.__getitem__, present, out.get("action")))
        return out

    def _changes(self, read: Callable[[str], Any], kinds: Mapping[str, str], action: Any) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        for column, kind in kinds.items():
            value = read(column)
            if kind == FIELD_MAP:
                changes[column] = None if value is None else self.protect_fields(value, self._kinds_of(action))
            else:
                changes[column] = self.protect(value, kind)
        return changes

    def _kinds_of(self, action: Any) -> Mapping[str, str | None]:
        """The field kinds of ``action`` (by default its ``ActionSpec.field_kinds``); none known for an unknown action.

        With no kinds, every field of the map is masked.
        """
        if not isinstance(action, str) or not action:
            return {}
        if self._field_kinds is not None:
            return self._field_kinds(action)
        from airflow_provider_tencent_ocr.actions.registry import get_action  # the registry imports this module

        spec = get_action(action)
        return spec.field_kinds if spec is not None else {}


# A kind no module declares: protect() masks it.
_UNKNOWN = "unknown"


def protect_fields(
    fields: Mapping[str, str], kinds: Mapping[str, str | None], mode: PiiProtector | PiiMode | str
) -> dict[str, str]:
    """Every field of a response-field map as ``mode`` writes it; a field missing from ``kinds`` is masked.

    ``mode`` is a ``PiiProtector`` (needed for ``hash``, which needs a key) or a mode name.
    """
    protector = mode if isinstance(mode, PiiProtector) else PiiProtector(mode)
    return protector.protect_fields(fields, kinds)


def known_kind(kind: str | None) -> bool:
    """Whether ``kind`` is ``None`` or one of the kinds (for checking action and row declarations)."""
    return kind is None or kind in _KINDS or kind == FIELD_MAP


def resolve_hmac_key(*, conn_id: str | None = None, variable: str | None = None) -> bytes:
    """The HMAC key from a connection's password or an Airflow Variable, registered for masking.

    Works inside tasks and outside them (where ``AIRFLOW_CONN_<ID>`` / ``AIRFLOW_VAR_<KEY>``
    environment variables are read). Airflow is imported lazily so this module stays light.
    """
    if (conn_id is None) == (variable is None):
        raise ValueError("resolve_hmac_key needs exactly one of conn_id= or variable=")
    if conn_id is not None:
        from airflow.sdk import BaseHook

        try:
            secret = BaseHook.get_connection(conn_id).password
        except Exception as exc:  # AirflowNotFoundException, secrets backend errors
            raise ValueError(
                f"pii hash key: connection {conn_id!r} could not be read ({type(exc).__name__}); "
                "define it with the HMAC key as its password"
            ) from None
        where = f"connection {conn_id!r} password"
    elif variable is not None:
        from airflow.sdk import Variable

        try:
            secret = Variable.get(variable, default=None)
        except Exception as exc:
            raise ValueError(
                f"pii hash key: Airflow Variable {variable!r} could not be read ({type(exc).__name__})"
            ) from None
        where = f"Airflow Variable {variable!r}"
    if secret is None or not str(secret):
        raise ValueError(f"pii hash key: {where} is missing or empty; put the HMAC key there")
    text = str(secret)

    from airflow.sdk.log import mask_secret

    mask_secret(text)
    return text.encode("utf-8")
