"""What one operator reads and writes: which action a manifest row gets, the call, the cache form, the row.

The runner and the worker are the same for every document; a :class:`DocumentFormat` is what
differs. ``SingaporeFormat`` keeps the Singapore table exactly as it is; the id-document format
(``run/id_documents.py``) serves every action of the registry, one action per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.actions.registry import ACTIONS
from airflow_provider_tencent_ocr.exceptions import UnsupportedActionError
from airflow_provider_tencent_ocr.io.manifest import ManifestRow

__all__ = ["DocumentFormat", "OutputRow", "SingaporeFormat", "UnsupportedActionError"]

if TYPE_CHECKING:
    from datetime import datetime


class OutputRow(Protocol):
    """What the runner needs of a typed output row (``SingaporeIdCardRow`` and ``IdDocumentRow`` have it)."""

    @property
    def status(self) -> str: ...

    @property
    def error_code(self) -> str | None: ...

    @property
    def warn_codes(self) -> tuple[int, ...] | None: ...

    def as_error(self, error_code: str, error_message: str) -> Any: ...

    def to_dict(self) -> dict[str, Any]: ...


class DocumentFormat(Protocol):
    """How one operator's rows are made. Implementations are small, stateless and thread-safe."""

    def action_of(self, row: ManifestRow) -> str:
        """The API action of this row; raises :class:`UnsupportedActionError` (a message without row values)."""
        ...

    def default_rate(self, action: str) -> float:
        """The action's documented per-account limit, requests per second."""
        ...

    def recognise(self, recogniser: Any, action: str, image: Mapping[str, str], *, return_head_image: bool) -> Any:
        """One API call (the hook's typed method); returns the typed result, which has ``request_id``."""
        ...

    def from_cache(self, action: str, response: dict[str, Any]) -> Any:
        """The typed result of a cached answer (the service's JSON shape)."""
        ...

    def to_cache(self, result: Any) -> dict[str, Any]:
        """The service's JSON shape of a result, as the cache stores it."""
        ...

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
    ) -> OutputRow:
        """The typed output row of one manifest row."""
        ...

    def carried(self, row: ManifestRow) -> dict[str, Any]:
        """The manifest columns written after the row's own columns."""
        ...


class SingaporeFormat:
    """``RecognizeSingaporeIDCardOCR`` for every row, into the Singapore table (a contract: unchanged)."""

    def action_of(self, row: ManifestRow) -> str:
        return sg.ACTION

    def default_rate(self, action: str) -> float:
        return ACTIONS[sg.ACTION].default_rps

    def recognise(self, recogniser: Any, action: str, image: Mapping[str, str], *, return_head_image: bool) -> Any:
        return recogniser.recognize_singapore_id_card(**image, return_head_image=return_head_image)

    def from_cache(self, action: str, response: dict[str, Any]) -> Any:
        return sg.SingaporeIdCardResult.from_response(response)

    def to_cache(self, result: Any) -> dict[str, Any]:
        return dict(result.to_response())

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
    ) -> OutputRow:
        return sg.SingaporeIdCardRow.build(
            record_id=row.record_id,
            image_uri=image_uri,
            image_sha256=image_sha256,
            result=result,
            error_code=error_code,
            error_message=error_message,
            request_id=request_id,
            attempts=attempts,
            ocr_at=ocr_at,
        )

    def carried(self, row: ManifestRow) -> dict[str, Any]:
        return row.carried
