"""The API's error shape: every answer the emulator gives is ``{"Response": {...}}`` with a RequestId."""

from __future__ import annotations

import uuid
from typing import Any


class ApiError(Exception):
    """An answer in the documented error shape; ``status`` is the HTTP status (200, as the API uses)."""

    def __init__(self, code: str, message: str, *, status: int = 200) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(code)


def request_id() -> str:
    return str(uuid.uuid4())


def envelope(code: str, message: str) -> dict[str, Any]:
    """``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``, the API's error answer."""
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id()}}
