"""The id-document table: any ID-document action of the registry, one action per row.

Each row's action is either the one ``action`` for every row, or the value of the manifest's
``action_column`` (an API action name). A row whose value is empty or names no action the
provider serves becomes an ``UnsupportedAction`` error row without a call; the run goes on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_tencent_ocr.actions.registry import (
    ACTIONS,
    UnsupportedActionError,
    check_action_arguments,
    get_action,
    require_action,
)
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.io.manifest import ManifestRow
from airflow_provider_tencent_ocr.rows.id_document import IdDocumentRow

if TYPE_CHECKING:
    from datetime import datetime

#: An unknown action name kept on its error row is cut to this length (it is a name, not content).
SHOWN_ACTION_CHARS = 64
#: What an API action name looks like (every OCR action's ends in "OCR"). Another value in the action
#: column (a name or ID number from a wrongly chosen column) is personal data: never written back.
_ACTION_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9]*OCR", re.IGNORECASE)


def shown_action(asked: object) -> str | None:
    """The unknown action as the row may show it: trimmed if it looks like an action name, else None."""
    text = str(asked).strip()[:SHOWN_ACTION_CHARS] if asked is not None else ""
    return text if _ACTION_LIKE.fullmatch(text) else None


class IdDocumentFormat:
    """Rows of ``IdDocumentRow``; exactly one of ``action`` or ``action_column`` says each row's action.

    ``carry_action_column``: whether the action column is also written as a carried column (it is
    read from the manifest either way; the ``action`` column holds its value).
    """

    def __init__(
        self, *, action: str | None = None, action_column: str | None = None, carry_action_column: bool = False
    ) -> None:
        check_action_arguments(action, action_column)  # again: a template may have rendered blank
        self.action = require_action(action).name if action is not None else None
        self.action_column = action_column
        self.carry_action_column = carry_action_column

    def _asked(self, row: ManifestRow) -> Any:
        return self.action if self.action is not None else row.carried.get(str(self.action_column))

    def action_of(self, row: ManifestRow) -> str:
        """The row's action; an unknown one raises ``UnsupportedActionError`` (an error row, no call)."""
        asked = self._asked(row)
        if self.action_column is None or get_action(asked) is not None or shown_action(asked) is not None:
            return require_action(asked).name
        if asked is None or not str(asked).strip():
            return require_action(None).name  # "an empty value"
        raise UnsupportedActionError(
            f"this row's {self.action_column!r} cell is not an API action name (not shown: it may be personal "
            f"data): fix the cell, or check that action_column= names the right column; cells must be one of: "
            f"{', '.join(ACTIONS)}"
        )

    def default_rate(self, action: str) -> float:
        return ACTIONS[action].default_rps

    def recognise(self, recogniser: Any, action: str, image: Mapping[str, str], *, return_head_image: bool) -> Any:
        return recogniser.recognize(action, **image, return_head_image=return_head_image)

    def from_cache(self, action: str, response: dict[str, Any]) -> DocumentResult:
        return DocumentResult.from_response(ACTIONS[action], response)

    def to_cache(self, result: Any) -> dict[str, Any]:
        return result.to_response(ACTIONS[result.action])

    def build_row(
        self,
        row: ManifestRow,
        action: str | None,
        *,
        image_uri: str | None,
        image_sha256: str | None,
        result: Any,
        error_code: str | None,
        error_message: str | None,
        request_id: str | None,
        attempts: int,
        ocr_at: datetime | None,
    ) -> IdDocumentRow:
        if action is None:  # not served: the row keeps the name it asked for, if it looks like one
            action = shown_action(self._asked(row))
        return IdDocumentRow.build(
            record_id=row.record_id,
            image_uri=image_uri,
            action=action,
            image_sha256=image_sha256,
            result=result,
            error_code=error_code,
            error_message=error_message,
            request_id=request_id,
            attempts=attempts,
            ocr_at=ocr_at,
        )

    def carried(self, row: ManifestRow) -> dict[str, Any]:
        if self.action_column is None or self.carry_action_column:
            return row.carried
        return {name: value for name, value in row.carried.items() if name != self.action_column}
