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

__all__ = ["ACTIONS", "UnsupportedActionError", "check_action_arguments", "get_action", "require_action"]

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


def check_action_arguments(action: object, action_column: object) -> None:
    """Exactly one of ``action`` (an API action name) or ``action_column`` (a manifest column name).

    A blank column name would make every row an ``UnsupportedAction`` error row and the task
    succeed; a rendered template is checked again when the run is assembled.
    """
    if (action is None) == (action_column is None):
        raise ValueError(
            "give exactly one of action= (one API action for every row, e.g. 'MLIDCardOCR') or "
            "action_column= (the manifest column naming each row's action)"
        )
    if action is not None and not isinstance(action, str):
        raise ValueError(f"action must be an API action name such as 'MLIDCardOCR', not a {type(action).__name__}")
    if action_column is not None and not (isinstance(action_column, str) and action_column.strip()):
        shown = repr(action_column) if isinstance(action_column, str) else f"a {type(action_column).__name__}"
        raise ValueError(
            f"action_column must name the manifest column holding each row's action (e.g. 'document_type'), not {shown}"
        )
