"""Every ID-document action the provider serves, by API name."""

from __future__ import annotations

from airflow_provider_tencent_ocr.actions import (
    hong_kong_id_card,
    indonesia_id_card,
    malaysia_id_card,
    passport,
    philippines,
    singapore_id_card,
    thai_id_card,
)
from airflow_provider_tencent_ocr.actions.spec import ActionSpec
from airflow_provider_tencent_ocr.exceptions import UnsupportedActionError

__all__ = ["ACTIONS", "UnsupportedActionError", "get_action", "require_action"]

#: API action name -> its declaration, in the order the docs list them.
ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        singapore_id_card.SPEC,
        malaysia_id_card.SPEC,
        hong_kong_id_card.SPEC,
        thai_id_card.SPEC,
        indonesia_id_card.SPEC,
        *philippines.SPECS,
        passport.SPEC,
    )
}


def get_action(name: str | None) -> ActionSpec | None:
    """The declaration of ``name`` (exact API spelling, surrounding blanks ignored), or None."""
    if not isinstance(name, str):
        return None
    return ACTIONS.get(name.strip())


def require_action(name: str | None) -> ActionSpec:
    """Like :func:`get_action`, but an unknown or empty name raises :class:`UnsupportedActionError`."""
    spec = get_action(name)
    if spec is None:
        shown = repr(name.strip()[:64]) if isinstance(name, str) and name.strip() else "an empty value"
        raise UnsupportedActionError(
            f"action {shown} is not one this provider serves; use one of: {', '.join(ACTIONS)}"
        )
    return spec
