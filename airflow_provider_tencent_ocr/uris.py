"""Telling a local path from an object-storage URI, in one place for every module that reads or writes."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")


def scheme(uri: str) -> str:
    """The lower-case scheme (``s3``, ``file``, ``http`` ...), or ``""`` for a plain path."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def local_path(uri: str) -> str | None:
    """The filesystem path of a plain path (``~`` expanded) or ``file://`` URI; None for anything else."""
    kind = scheme(uri)
    if not kind:
        return os.path.expanduser(uri)
    if kind == "file":
        return unquote(urlsplit(uri).path)
    return None


def path_part(uri: str) -> str:
    """The path component (for extensions and file names), whatever the scheme."""
    return urlsplit(uri).path if scheme(uri) else uri
