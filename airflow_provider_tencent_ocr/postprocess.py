"""What happens to an output row after recognition: typed columns, portraits, personal data.

Order matters: validation columns are computed from the raw values before ``pii`` masks or
hashes them, and a portrait leaves the row (to a file, or nowhere) before it is written.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import threading
from collections.abc import Callable
from typing import Any, Literal

from airflow_provider_tencent_ocr.images import sniff_format
from airflow_provider_tencent_ocr.pii import PiiProtector
from airflow_provider_tencent_ocr.uris import local_path
from airflow_provider_tencent_ocr.validation import typed_columns

PhotoOutput = Literal["inline", "files", "none"]
PHOTO_OUTPUTS = ("inline", "files", "none")
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "BMP": ".bmp"}


def default_photo_dir(output: str) -> str:
    """``photos/`` beside the output file."""
    return posixpath.join(posixpath.dirname(output) or ".", "photos")


def write_photo(photo: bytes, photo_dir: str, *, storage_conn_id: str | None = None) -> str:
    """Store one portrait under a content-hash name (no personal data in the path); return its URI."""
    name = hashlib.sha256(photo).hexdigest() + _EXTENSIONS.get(sniff_format(photo) or "", ".jpg")
    local_dir = local_path(photo_dir)
    if local_dir is None:
        from airflow.sdk import ObjectStoragePath

        target = ObjectStoragePath(photo_dir, conn_id=storage_conn_id) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(photo)
        return str(target)
    os.makedirs(local_dir, exist_ok=True)
    path = os.path.join(local_dir, name)
    if not os.path.exists(path):  # content-addressed: an existing file already holds these bytes
        temp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temp, "wb") as fh:
            fh.write(photo)
        os.replace(temp, path)  # never a truncated portrait under the final name
    return path


def build_row_transform(
    *,
    protector: PiiProtector,
    photo_output: PhotoOutput = "none",
    photo_dir: str | None = None,
    storage_conn_id: str | None = None,
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The per-row function the runner applies before writing."""
    if photo_output not in PHOTO_OUTPUTS:
        raise ValueError(f"photo_output must be one of {PHOTO_OUTPUTS}, not {photo_output!r}")
    if photo_output == "files" and not photo_dir:
        raise ValueError("photo_output='files' needs photo_dir")

    def transform(row: dict[str, Any]) -> dict[str, Any]:
        if row.get("status") == "ok":
            row.update(typed_columns(row))
        photo = row.get("photo")
        if photo_output != "inline":
            row["photo"] = None
        if photo_output == "files" and photo:
            row["photo_path"] = write_photo(photo, str(photo_dir), storage_conn_id=storage_conn_id)
        return protector.apply(row)

    return transform
