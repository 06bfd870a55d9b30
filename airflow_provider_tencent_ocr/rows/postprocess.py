"""What happens to an output row after recognition: portraits, then personal data.

Order matters: the typed columns are computed from the raw values when the row is built (see
``SingaporeIdCardRow.build``), before ``pii`` masks or hashes them here, and a portrait leaves the
row (to a file, or nowhere) before it is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
from collections.abc import Callable
from typing import Any

from airflow_provider_tencent_ocr.actions.singapore_id_card import SingaporeIdCardRow
from airflow_provider_tencent_ocr.choices import PhotoOutput, check_choice
from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.images import sniff_format
from airflow_provider_tencent_ocr.rows.pii import PiiProtector, check_portrait_allowed

_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp"}


def default_photo_dir(output: str) -> str:
    """``photos/`` beside the output file."""
    return posixpath.join(posixpath.dirname(output) or ".", "photos")


def write_photo(
    photo: bytes,
    photo_dir: str,
    *,
    storage_conn_id: str | None = None,
    permissions: storage.Permissions | None = storage.PERSONAL_DATA,
) -> str:
    """Store one portrait under a content-hash name (no personal data in the path); return its URI.

    Content-addressed: an existing file of that name already holds these bytes, so it is not
    written again; a new one appears atomically (never a truncated portrait under the final name).
    """
    name = hashlib.sha256(photo).hexdigest() + _EXTENSIONS.get(sniff_format(photo) or "", ".jpg")
    target = storage.join(photo_dir, name)
    if not storage.exists(target, conn_id=storage_conn_id):
        storage.write_bytes(target, photo, conn_id=storage_conn_id, permissions=permissions)
    return target


def build_row_transform(
    *,
    protector: PiiProtector,
    photo_output: PhotoOutput = "none",
    photo_dir: str | None = None,
    storage_conn_id: str | None = None,
    permissions: storage.Permissions | None = storage.PERSONAL_DATA,
) -> Callable[[SingaporeIdCardRow], SingaporeIdCardRow]:
    """The per-row function the runner applies before writing."""
    check_choice("photo_output", photo_output, PhotoOutput)
    if photo_output == "files" and not photo_dir:
        raise ValueError("photo_output='files' needs photo_dir")
    check_portrait_allowed(
        protector.mode, wants_portrait=photo_output != "none", allow_portrait=protector.allow_portrait
    )

    def transform(row: SingaporeIdCardRow) -> SingaporeIdCardRow:
        changes: dict[str, Any] = {}
        if photo_output != "inline":
            changes["photo"] = None
        if photo_output == "files" and row.photo:
            changes["photo_path"] = write_photo(
                row.photo, str(photo_dir), storage_conn_id=storage_conn_id, permissions=permissions
            )
        return protector.apply(dataclasses.replace(row, **changes) if changes else row)

    return transform
