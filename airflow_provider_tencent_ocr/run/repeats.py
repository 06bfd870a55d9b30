"""What repeated rows need, remembered for one run: so a row whose image was seen already costs no I/O.

A rerun over cached images, or a manifest that lists the same images many times, would otherwise read
and hash every row's file and read a cache file for it. Two bounded maps (oldest entries out):

- a local file's SHA-256 by path, valid while its size, mtime and inode are unchanged (one ``stat``
  per row instead of a read and a hash); object-storage and http images are not remembered, since
  checking them would cost a request anyway;
- a finished ``ok`` outcome by cache key, so a repeated row needs neither a cache read nor a thread.

Memory stays flat: both maps are bounded whatever the manifest's length.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Hashable
from typing import Generic, TypeVar

from airflow_provider_tencent_ocr.io.uris import local_path

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

StatSignature = tuple[int, int, int]


class Bounded(Generic[K, V]):
    """A thread-safe map that forgets its oldest entry beyond ``limit`` (a forgotten entry is only work again)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        return self._items.get(key)  # one C-level lookup, atomic under the GIL: no lock on the hot path

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def stat_signature(uri: str) -> StatSignature | None:
    """(size, mtime in ns, inode) of a local image file; None for remote URIs or a file that is not there."""
    path = local_path(uri)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path (the row's read reports it)
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


class FileDigests:
    """Local files' SHA-256 by path, trusted only while the file's stat signature is unchanged."""

    def __init__(self, limit: int = 65536) -> None:
        self._known: Bounded[str, tuple[str, StatSignature, str]] = Bounded(limit)

    def lookup(self, uri: str) -> str | None:
        known = self._known.get(uri)
        if known is None:
            return None
        path, signature, digest = known
        try:
            stat = os.stat(path)
        except (OSError, ValueError):
            return None
        return digest if (stat.st_size, stat.st_mtime_ns, stat.st_ino) == signature else None

    def remember(self, uri: str, signature: StatSignature | None, digest: str) -> None:
        """``signature`` taken before the file was read: a change while reading shows at the next lookup."""
        path = local_path(uri)
        if signature is not None and path is not None:
            self._known.put(uri, (path, signature, digest))
