"""TencentOcrIdDocumentOperator: Southeast Asia's ID documents and passports into one Parquet table.

One action for every row (``action``) or one per row (``action_column``); each action paced at its
own per-account limit, all at the same time. Every argument of the Singapore operator applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_tencent_ocr.operators.base import TencentOcrBaseOperator

if TYPE_CHECKING:
    import pyarrow as pa

    from airflow_provider_tencent_ocr.io.parquet import ColumnMetadata
    from airflow_provider_tencent_ocr.run.documents import DocumentFormat


class TencentOcrIdDocumentOperator(TencentOcrBaseOperator):
    """Run an ID-document OCR action over every row of a manifest and write one id-document table.

    Takes every argument of :class:`~airflow_provider_tencent_ocr.operators.base.TencentOcrBaseOperator`
    and exactly one of ``action`` or ``action_column``. The output columns (``action``,
    ``document_number``, ``full_name``, ``birth_date``, ``sex``, ``address``, ``nationality``,
    ``expiry_date``, ``number_valid``, ``number_consistent``, ``fields``, warn columns) are listed in
    ``docs/documents.md``; ``pii`` protects each by its personal-data kind, ``fields`` entry by entry.
    ``max_requests_per_second`` defaults to each action's documented limit (``docs/operators.md``).

    :param action: the API action for every row, e.g. ``"MLIDCardOCR"`` (templated).
    :param action_column: instead, the manifest column naming each row's action by its API name; a
        row whose value is empty or unknown becomes an ``UnsupportedAction`` error row (the task goes
        on). The column is written as a carried column only when listed in ``carry_columns`` (templated).
    """

    template_fields: Sequence[str] = (*TencentOcrBaseOperator.template_fields, "action", "action_column")

    def __init__(self, *, action: str | None = None, action_column: str | None = None, **kwargs: Any) -> None:
        from airflow_provider_tencent_ocr.actions.registry import check_action_arguments, require_action

        check_action_arguments(action, action_column)
        if action is not None and "{{" not in action:
            require_action(action)  # UnsupportedActionError (a ValueError) listing the served actions
        if action_column is not None and kwargs.get("images") is not None:
            raise ValueError("action_column= reads the manifest: give manifest=, or action= with images=")
        super().__init__(**kwargs)
        self.action = action
        self.action_column = action_column

    def _carries_action_column(self) -> bool:
        carried = [] if isinstance(self.carry_columns, str) else list(self.carry_columns or ())
        return self.action_column in carried

    def manifest_columns(self) -> dict[str, str]:
        return {self.action_column: "action_column"} if self.action_column else {}

    def output_schema(self, carry_fields: list[pa.Field]) -> pa.Schema:
        from airflow_provider_tencent_ocr.rows.id_document import output_schema

        if self.action_column and not self._carries_action_column():
            carry_fields = [f for f in carry_fields if f.name != self.action_column]
        return output_schema(carry_fields, actions=[self.action] if self.action else ())

    def metadata_at_commit(self) -> ColumnMetadata | None:
        """With ``action_column``, the actions a file holds are known at its end: recorded then."""
        from airflow_provider_tencent_ocr.io.parquet import ColumnMetadata
        from airflow_provider_tencent_ocr.rows.id_document import schema_metadata

        return ColumnMetadata("action", schema_metadata) if self.action_column else None

    def document(self) -> DocumentFormat:
        from airflow_provider_tencent_ocr.run.id_documents import IdDocumentFormat

        return IdDocumentFormat(
            action=self.action, action_column=self.action_column, carry_action_column=self._carries_action_column()
        )
