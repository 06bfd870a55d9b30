"""Personal data handling for the output table: keep, mask or keyed-hash the identifying columns.

Why keyed: Singapore IDs are a prefix, seven digits and a check letter, so there are only about
10^8 of them per prefix. A bare SHA-256 of an ID is reversed by hashing all of them in minutes on
a laptop. An HMAC-SHA256 with a secret key cannot be enumerated without the key, yet stays
stable, so hashed IDs can still be joined and de-duplicated by whoever holds the same key.

Typed validation columns (``id_type``, ``id_checksum_valid``...) are computed by the caller
before ``PiiProtector.apply``: they must see the clear values.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
from typing import Any, TypeVar

from airflow_provider_tencent_ocr.actions.singapore_id_card import PII_COLUMNS

__all__ = ["PII_COLUMNS", "PiiMode", "PiiProtector", "hash_value", "mask_value", "resolve_hmac_key"]

RowT = TypeVar("RowT")


class PiiMode(enum.StrEnum):
    """How the ``PII_COLUMNS`` are written: as read, masked, or keyed-hashed."""

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


def mask_value(value: str) -> str:
    """First and last character kept, one ``*`` per character between (``S1234567D`` -> ``S*******D``).

    Values of one or two characters become all ``*``: keeping both ends would reveal them whole.
    Empty stays empty. The length is kept, so a masked table still shows how long values were.
    """
    if len(value) <= 2:
        return "*" * len(value)
    return value[0] + "*" * (len(value) - 2) + value[-1]


def hash_value(value: str, key: bytes) -> str:
    """HMAC-SHA256 of the UTF-8 value, as 64 hex characters; empty stays empty.

    Keyed on purpose: a bare SHA-256 of an NRIC/FIN is reversible by enumerating the ~10^8
    possible IDs. The exact string is hashed (no case or space folding), so join only values
    normalised the same way. Empty stays empty so "nothing was read" remains visible.
    """
    if not value:
        return ""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


class PiiProtector:
    """Applies one ``PiiMode`` to the ``PII_COLUMNS`` of output rows."""

    def __init__(self, mode: PiiMode | str, key: bytes | None = None) -> None:
        self.mode = PiiMode.parse(mode)
        if self.mode is PiiMode.HASH and not key:
            raise ValueError(
                "pii='hash' needs an HMAC key: pass one resolved with resolve_hmac_key(conn_id=...) "
                "(the key in a connection's password) or resolve_hmac_key(variable=...) "
                "(an Airflow Variable); use at least 32 random bytes and keep it secret"
            )
        self._key = key or b""

    def __repr__(self) -> str:
        # Never show the key.
        return f"PiiProtector(mode={self.mode.value!r})"

    def _transform(self, value: Any) -> Any:
        if value is None:
            return None
        text = value if isinstance(value, str) else str(value)
        if self.mode is PiiMode.MASK:
            return mask_value(text)
        return hash_value(text, self._key)

    def apply(self, row: RowT) -> RowT:
        """A new row (typed row or dict) with the PII columns transformed; other columns and ``None`` untouched."""
        if dataclasses.is_dataclass(row) and not isinstance(row, type):
            if self.mode is PiiMode.PLAIN:
                return row
            changes = {column: self._transform(getattr(row, column)) for column in PII_COLUMNS}
            return dataclasses.replace(row, **changes)
        out = dict(row)  # type: ignore[call-overload]
        if self.mode is PiiMode.PLAIN:
            return out  # type: ignore[return-value]
        for column in PII_COLUMNS:
            if column in out:
                out[column] = self._transform(out[column])
        return out  # type: ignore[return-value]


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
    else:
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
