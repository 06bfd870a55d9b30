"""DocumentResult: one answer of any ID-document action, flattened to text fields, a portrait and warn codes.

The ``fields`` map holds every text field by its API name (Philippine ``{"Value": ...}`` objects
flattened to the value, nested passport objects as ``Parent.Child``, numbers and booleans as text);
image fields never enter it. An answer of the wrong shape is refused as ``InvalidResponse``, a
per-image error: the call was made (and may have been billed), so it is not retried.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_tencent_ocr.actions.singapore_id_card import WARN_CODES
from airflow_provider_tencent_ocr.actions.spec import ActionSpec

__all__ = ["DocumentResult"]

_INT32 = (-(2**31), 2**31 - 1)


def _invalid(problem: str, request_id: Any) -> Exception:
    from airflow_provider_tencent_ocr.exceptions import ErrorKind, TencentCloudAPIError

    return TencentCloudAPIError(
        "InvalidResponse",
        problem,
        request_id if isinstance(request_id, str) else None,
        kind=ErrorKind.PER_IMAGE,
        may_have_been_billed=True,
    )


class _Reader:
    """Reads typed values out of one ``Response`` object, collecting the names of misfit fields."""

    def __init__(self, spec: ActionSpec, response: Mapping[str, Any]) -> None:
        self.spec = spec
        self.response = response
        self.bad: list[str] = []

    def raw(self, name: str) -> Any:
        node: Any = self.response
        parts = name.split(".")
        for depth, part in enumerate(parts):
            if node is None:
                return None
            if not isinstance(node, Mapping):
                self.bad.append(".".join(parts[:depth]))
                return None
            node = node.get(part)
        return node

    def text(self, name: str, *, value_object: bool) -> str | None:
        raw = self.raw(name)
        if value_object and raw is not None:
            if not isinstance(raw, Mapping):
                self.bad.append(name)
                return None
            raw = raw.get("Value")
        if raw is None or isinstance(raw, str):
            return raw
        self.bad.append(name)
        return None

    def number(self, name: str) -> int | None:
        raw = self.raw(name)
        if raw is None or (type(raw) is int and _INT32[0] <= raw <= _INT32[1]):
            return raw
        self.bad.append(name)
        return None

    def flag(self, name: str) -> bool | None:
        raw = self.raw(name)
        if raw is None or isinstance(raw, bool):
            return raw
        self.bad.append(name)
        return None

    def warn_codes(self) -> tuple[int, ...]:
        name = self.spec.warn_field
        raw = self.raw(name) if name else None
        if raw is None:
            return ()
        if isinstance(raw, list) and all(type(code) is int and _INT32[0] <= code <= _INT32[1] for code in raw):
            return tuple(raw)
        self.bad.append(str(name))
        return ()


def _fields_are(names: list[str]) -> str:
    """``ID is`` or ``ID, Name are``: the fields of a message, with their verb."""
    return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'}"


def _decode_image(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None  # a broken portrait is no portrait; the fields are still good


@dataclass(frozen=True)
class DocumentResult:
    """Every text field of one recognition by API name, the portrait, warn codes and request id."""

    action: str
    fields: dict[str, str]
    photo: bytes | None = field(default=None, repr=False)
    warn_codes: tuple[int, ...] = ()
    request_id: str = ""

    def __repr__(self) -> str:
        # Personal data must never reach a log line through an accidental repr.
        return (
            f"DocumentResult(action={self.action!r}, request_id={self.request_id!r}, "
            f"warn_codes={list(self.warn_codes)!r}, fields={sorted(self.fields)!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_response(cls, spec: ActionSpec, response: Mapping[str, Any]) -> DocumentResult:
        """Build from the ``Response`` object of a successful answer of ``spec``'s action.

        Raises ``InvalidResponse`` (per image) when a field is not of its documented type, a warn
        code does not fit int32, or the answer holds no card field at all. The message names the
        fields, never their values.
        """
        request_id = response.get("RequestId") if isinstance(response, Mapping) else None
        if not isinstance(response, Mapping):
            raise _invalid("the answer's Response is not an object", None)
        reader = _Reader(spec, response)
        fields: dict[str, str] = {}
        for name in spec.text_fields:
            value = reader.text(name, value_object=spec.value_objects)
            if value is not None:
                fields[name] = value
        card_fields_found = bool(fields)
        for name in spec.number_fields:
            number = reader.number(name)
            if number is not None:
                fields[name] = str(number)
        for name in spec.flag_fields:
            flag = reader.flag(name)
            if flag is not None:
                fields[name] = "true" if flag else "false"
        images = [reader.text(name, value_object=spec.value_objects) for name in spec.image_fields]
        warn_codes = reader.warn_codes()
        if request_id is not None and not isinstance(request_id, str):
            reader.bad.append("RequestId")
        if reader.bad:
            raise _invalid(
                f"{spec.name}: the answer's {_fields_are(list(dict.fromkeys(reader.bad)))} not of the documented type "
                "(text fields: string" + (" inside {Value}" if spec.value_objects else "") + "; "
                "WarnCardInfos: 32-bit integers)",
                request_id,
            )
        if not card_fields_found:
            raise _invalid(f"{spec.name}: the answer holds none of the action's card fields", request_id)
        photo = next((decoded for decoded in map(_decode_image, images) if decoded), None)
        return cls(
            action=spec.name,
            fields=fields,
            photo=photo,
            warn_codes=warn_codes,
            request_id=request_id or "",
        )

    def to_response(self, spec: ActionSpec | None = None) -> dict[str, Any]:
        """The service's JSON shape again (for the result cache); ``from_response`` reads it back equal."""
        if spec is None:
            from airflow_provider_tencent_ocr.actions.registry import require_action

            spec = require_action(self.action)

        def wrap(value: Any) -> Any:
            return {"Value": value} if spec.value_objects else value

        response: dict[str, Any] = {}

        def put(name: str, value: Any) -> None:
            node = response
            *parents, leaf = name.split(".")
            for parent in parents:
                node = node.setdefault(parent, {})
            node[leaf] = value

        for name in spec.text_fields:
            if name in self.fields:
                put(name, wrap(self.fields[name]))
        for name in spec.number_fields:
            if name in self.fields:
                put(name, int(self.fields[name]))
        for name in spec.flag_fields:
            if name in self.fields:
                put(name, self.fields[name] == "true")
        if spec.image_fields:
            put(spec.image_fields[0], wrap(base64.b64encode(self.photo).decode() if self.photo else ""))
        if spec.warn_field:
            put(spec.warn_field, list(self.warn_codes))
        response["RequestId"] = self.request_id
        return response

    def warn_flags(self, spec: ActionSpec | None = None) -> dict[str, bool | None]:
        """One boolean per shared warn code (-9101 .. -9109); None for an action without warn codes."""
        if spec is None:
            from airflow_provider_tencent_ocr.actions.registry import require_action

            spec = require_action(self.action)
        supported = spec.warn_supported
        return {column: (code in self.warn_codes if supported else None) for code, column in WARN_CODES.items()}
