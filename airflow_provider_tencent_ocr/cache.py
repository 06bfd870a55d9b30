"""A durable result cache so a retried, re-run or killed task never pays twice for an image.

Results are keyed by (action, image SHA-256, request options) and committed one by one to a
SQLite file, so a SIGKILL loses at most the calls that were in flight. A cache location on
object storage is downloaded at start and uploaded between output batches once ``sync_seconds``
have passed, and at the end (there a kill can lose up to that interval; a local path is the safe
choice for very large runs).

The cache holds raw OCR results, i.e. personal data: keep it where the output's readers cannot
reach it, and delete it when the run's retention ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from typing import Any

from airflow_provider_tencent_ocr.uris import local_path

log = logging.getLogger(__name__)


def cache_key(action: str, image_key: str, options: dict[str, Any]) -> str:
    """Stable key for one billed recognition."""
    blob = json.dumps([action, image_key, options], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def default_cache_uri(output_uri: str) -> str:
    """Next to the output: ``<output>.ocr-cache.sqlite``."""
    return output_uri + ".ocr-cache.sqlite"


class ResultCache:
    """``get`` / ``put`` of JSON results by key; safe to use from many threads."""

    def __init__(self, uri: str, *, storage_conn_id: str | None = None, sync_seconds: float = 30.0) -> None:
        self.uri = uri
        path = local_path(uri)
        self._remote = path is None
        self._storage_conn_id = storage_conn_id
        self._sync_seconds = sync_seconds
        self._last_sync = time.monotonic()
        self._dirty = False
        if self._remote:
            self._tmpdir = tempfile.mkdtemp(prefix="tencent-ocr-cache-")
            self.path = os.path.join(self._tmpdir, "cache.sqlite")
            try:
                self._download()
            except BaseException:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                raise
        else:
            self.path = str(path)
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        # Owner-only from the start: it holds raw personal data (SQLite gives its WAL files the same mode).
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, obtained_at REAL NOT NULL, result TEXT NOT NULL)"
        )

    def __repr__(self) -> str:
        return f"ResultCache({self.uri!r})"

    def get(self, key: str) -> tuple[dict[str, Any], float] | None:
        """The stored result and when it was obtained (Unix seconds), or None."""
        with self._lock:
            row = self._db.execute("SELECT result, obtained_at FROM results WHERE key = ?", (key,)).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def put(self, key: str, result: dict[str, Any], obtained_at: float) -> None:
        """Store and commit at once (autocommit): a kill after this line loses nothing."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO results (key, obtained_at, result) VALUES (?, ?, ?)",
                (key, obtained_at, json.dumps(result, ensure_ascii=False)),
            )
            self._dirty = True

    def sync_if_due(self) -> None:
        """Upload an object-storage cache if ``sync_seconds`` have passed (the runner calls this
        between output batches, off the workers' path). A failed upload is logged, not raised:
        the next sync or ``close`` tries again, and the run itself is not at stake."""
        if not self._remote or not self._dirty or time.monotonic() - self._last_sync < self._sync_seconds:
            return
        try:
            with self._lock:
                self._upload()
        except Exception as err:
            log.warning("could not upload the result cache to %s (%s); will retry", self.uri, type(err).__name__)

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        """Upload a dirty object-storage cache one last time; a failure is logged, never raised,
        so it cannot hide the run's own outcome (results then stay billable again, nothing else)."""
        try:
            if self._remote and self._dirty:
                with self._lock:
                    self._upload()
        except Exception as err:
            log.warning("could not upload the result cache to %s (%s)", self.uri, type(err).__name__)
        finally:
            self._db.close()
            if self._remote:
                shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- object storage -----------------------------------------------------------------------
    def _remote_path(self) -> Any:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(self.uri, conn_id=self._storage_conn_id)

    def _download(self) -> None:
        remote = self._remote_path()
        if remote.exists():
            with remote.open("rb") as src, open(self.path, "wb") as dst:
                shutil.copyfileobj(src, dst)

    def _upload(self) -> None:
        """Copy a consistent snapshot (SQLite backup API) to the remote location in one write."""
        snapshot = self.path + ".snapshot"
        target = sqlite3.connect(snapshot)
        try:
            self._db.backup(target)
        finally:
            target.close()
        remote = self._remote_path()
        remote.parent.mkdir(parents=True, exist_ok=True)
        with open(snapshot, "rb") as src, remote.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(snapshot)
        self._last_sync = time.monotonic()
        self._dirty = False
