"""A durable result cache that concurrent runs can share, so no image is paid for twice.

Content-addressed: each result is one small JSON object named by its key (a hash of the action,
the image SHA-256 and the request options), at ``<cache>/<key[:2]>/<key>.json``, written whole and
atomically. Two tasks writing the same cache at once therefore never overwrite each other's
results (there is no shared file for a last writer to win); two writers of the same key write the
same image's result, and either copy is valid. Reading needs no lock and no listing: a lookup is
one read of one object.

Durability: on a local path each result is on disk (atomic rename, owner-only 0600 files in 0700
folders) before the row is written, so a SIGKILL loses only the calls in flight. On object
storage a background thread uploads results as they arrive, all waiting ones at once; a result
still waiting after ``sync_seconds`` (default 2 s) makes the workers wait for the upload, so a kill
loses at most the calls in flight plus the results of the last ``sync_seconds`` (longer only when
one upload round takes longer than that), whatever ``batch_rows`` is. A store that refuses uploads
never stops the run: results are retried in the background and at ``close``, and those it never
took are paid again by a later run.

Several tasks at once: before paying for a key, a run claims it (``claim``, see ``claims.py``); a run
that finds the key claimed by another live task waits for that task's result (``wait_for``) instead
of calling. So tasks over the same images pay for each image once.

The cache holds raw OCR results, i.e. personal data: keep it where the output's readers cannot
reach it (object storage gets the bucket's permissions, not 0600), and delete it when the run's
retention ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from typing import Any

from airflow_provider_tencent_ocr.io import storage
from airflow_provider_tencent_ocr.io.claims import DEFAULT_LEASE_SECONDS, ClaimBook
from airflow_provider_tencent_ocr.io.uris import local_path, redact_uri

log = logging.getLogger(__name__)

ENTRY_SUFFIX = ".json"
# The earlier versions' cache: one SQLite file at <output>.ocr-cache.sqlite, read (never written) beside
# the new folder so that upgrading does not pay again for what is already in it.
LEGACY_SUFFIX = ".sqlite"


def cache_key(action: str, image_key: str, options: dict[str, Any]) -> str:
    """Stable key for one billed recognition."""
    blob = json.dumps([action, image_key, options], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def default_cache_uri(output_uri: str) -> str:
    """Next to the output: the folder ``<output>.ocr-cache/``."""
    return output_uri.rstrip("/") + ".ocr-cache"


class ResultCache:
    """``get`` / ``put`` of JSON results by key; safe from many threads, processes and hosts at once."""

    def __init__(
        self,
        uri: str,
        *,
        storage_conn_id: str | None = None,
        sync_seconds: float = 2.0,
        claims: bool = True,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._legacy: _LegacyCache | None = None
        if sync_seconds <= 0:
            raise ValueError(f"sync_seconds must be positive, got {sync_seconds!r}")
        self.uri = uri.rstrip("/") or uri
        self._shown = redact_uri(self.uri)  # for log lines: no credentials a URI might carry
        self._conn_id = storage_conn_id
        self._sync_seconds = sync_seconds
        path = local_path(uri)
        self._remote = path is None
        if path is not None:
            if os.path.isfile(path):
                raise ValueError(
                    f"the cache location {uri} is a file (a cache from an earlier version was one SQLite file): "
                    "give a folder path for cache=, or delete that file"
                )
            storage.make_dirs(path, storage.PRIVATE)  # owner-only, parents it creates too: raw personal data
            legacy = path.rstrip("/") + LEGACY_SUFFIX
            if os.path.isfile(legacy):  # the earlier default, <output>.ocr-cache.sqlite: still read
                self._legacy = _LegacyCache(legacy)
        else:
            storage.filesystem(uri, storage_conn_id)  # a missing filesystem fails now, before any call is paid
        # Object storage only: results not uploaded yet (key -> (entry bytes, when queued)).
        self._pending: dict[str, tuple[bytes, float]] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._failing = False  # the last upload failed: the store is unreachable or refusing
        self._uploader: threading.Thread | None = None
        # Claims shared with other tasks (None: this cache is private to one run, e.g. its scratch dedup).
        self._claims = ClaimBook(self.uri, conn_id=storage_conn_id, lease_seconds=lease_seconds) if claims else None
        self._release_after_upload: set[str] = set()

    def __repr__(self) -> str:
        return f"ResultCache({self._shown!r})"

    def _entry(self, key: str) -> str:
        return storage.join(self.uri, key[:2], key + ENTRY_SUFFIX)

    # -- reading ------------------------------------------------------------------------------
    def get(self, key: str) -> tuple[dict[str, Any], float] | None:
        """The stored result and when it was obtained (Unix seconds), or None.

        An unreadable store counts as a miss (logged): the row is then paid for again, never lost.
        """
        with self._cond:
            pending = self._pending.get(key)
        try:
            data = pending[0] if pending else storage.read_bytes(self._entry(key), conn_id=self._conn_id)
            entry = json.loads(data)
            return entry["result"], float(entry["obtained_at"])
        except FileNotFoundError:
            found = self._legacy.get(key) if self._legacy is not None else None
            if found is not None:  # paid for under the earlier cache: keep it in the new one too
                self.put(key, *found)
            return found
        except Exception as err:
            log.warning("could not read from the cache %s (%s); counted as a miss", self._shown, type(err).__name__)
            return None

    def __len__(self) -> int:
        """Results stored (listing the store: for tests and reports, not for the hot path)."""
        names = (os.path.basename(n) for n in storage.list_files(self.uri, conn_id=self._conn_id))
        stored = {name for name in names if name.endswith(ENTRY_SUFFIX) and not name.startswith(".")}
        with self._cond:
            stored |= {key + ENTRY_SUFFIX for key in self._pending}
        return len(stored)

    # -- claims -------------------------------------------------------------------------------
    def claim(self, key: str) -> bool:
        """True when this run may pay for ``key`` (it then ``put``s and ``release``s); False when another
        live task holds it: ``wait_for`` its result instead of calling. Always True without claims."""
        if self._claims is None:
            return True
        try:
            return self._claims.claim(key)
        except Exception as err:  # a store refusing claims must not stop the run: pay rather than lose a row
            log.warning("could not claim a cache entry in %s (%s); calling anyway", self._shown, type(err).__name__)
            return True

    def release(self, key: str) -> None:
        """Give up the claim on ``key``; on object storage only once its result is uploaded, so a waiting
        task never finds the claim gone and the result not there yet (and pays again)."""
        if self._claims is None:
            return
        with self._cond:
            if key in self._pending:
                self._release_after_upload.add(key)
                return
        self._claims.release(key)

    def claim_or_wait(
        self, key: str, stop: threading.Event, *, poll: float = 0.1, max_poll: float = 2.0
    ) -> tuple[dict[str, Any], float] | None:
        """After a miss: None when this run now holds ``key``'s claim (call, ``put``, then ``release``), or the
        result another task stored while it held the claim (awaited, polling). Also None once ``stop`` is set."""
        while not stop.is_set():
            if self.claim(key):
                found = self.get(key)  # stored by another task between the miss and the claim
                if found is not None:
                    self.release(key)
                return found
            stop.wait(poll)
            poll = min(poll * 2, max_poll)
            found = self.get(key)
            if found is not None:
                return found
        return None

    # -- writing ------------------------------------------------------------------------------
    def put(self, key: str, result: dict[str, Any], obtained_at: float) -> None:
        """Store one result. Local: on disk when this returns. Object storage: queued for upload now.

        Never raises for a storage failure (it is logged): the run and its output come first, and a
        result that could not be stored is only paid for again on a later run.
        """
        entry = {"key": key, "obtained_at": obtained_at, "result": result}
        try:
            # ASCII escapes: any str, a lone surrogate included, is stored and read back exactly.
            data = json.dumps(entry, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        except (TypeError, ValueError) as err:  # not JSON at all: a bug upstream, but never a lost run
            log.warning("could not store a result in the cache %s (%s)", self._shown, type(err).__name__)
            return
        with self._cond:
            direct = not self._remote or self._closing
        if direct:  # local (or a late put after close): write it now
            try:
                storage.write_bytes(self._entry(key), data, conn_id=self._conn_id, private=True)
            except Exception as err:
                log.warning("could not store a result in the cache %s (%s)", self._shown, type(err).__name__)
            return
        with self._cond:
            self._pending[key] = (data, time.monotonic())
            self._start_uploader()
            self._cond.notify_all()
            # Bounded loss: while a result has waited longer than sync_seconds, wait for the uploader (at
            # most sync_seconds per put). Not while uploads fail: waiting would only slow the run down.
            give_up = time.monotonic() + self._sync_seconds
            while not self._failing and (age := self._oldest_age()) is not None and age > self._sync_seconds:
                remaining = give_up - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)

    def discard(self, key: str) -> None:
        """Forget one stored result (an answer the output table refused), so the next run asks again.

        Never raises for a storage failure (it is logged): at worst a rerun writes that row's error again.
        """
        if self._remote:
            self.flush()  # an upload in progress must not bring the entry back after the delete
        with self._cond:
            self._pending.pop(key, None)
        try:
            storage.delete(self._entry(key), conn_id=self._conn_id)
        except Exception as err:
            log.warning("could not remove a result from the cache %s (%s)", self._shown, type(err).__name__)

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every queued result is uploaded (or ``timeout`` passes); True when none is left."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and self._uploader is not None and self._uploader.is_alive():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.notify_all()
                self._cond.wait(min(remaining, 0.5))
            return not self._pending

    def close(self, timeout: float = 60.0) -> None:
        """Upload what is queued (up to ``timeout``) and stop the uploader; a failure is logged, never
        raised, so it cannot hide the run's own outcome (results then stay billable again, nothing else)."""
        if self._remote and not self.flush(timeout):
            with self._cond:
                left = len(self._pending)
            log.warning("%d results could not be uploaded to the cache %s; a rerun pays again", left, self._shown)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._uploader is not None:
            self._uploader.join(timeout=5)
        if self._claims is not None:
            self._claims.close()
        if self._legacy is not None:
            self._legacy.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- object storage uploader ----------------------------------------------------------------
    def _oldest_age(self) -> float | None:
        if not self._pending:
            return None
        return time.monotonic() - min(queued for _, queued in self._pending.values())

    def _start_uploader(self) -> None:
        if self._uploader is None or not self._uploader.is_alive():
            self._uploader = threading.Thread(target=self._upload_loop, name="tencent-ocr-cache-upload", daemon=True)
            self._uploader.start()

    def _upload_loop(self) -> None:
        """Upload whatever is queued, concurrently, as soon as it is queued; retry failures with backoff."""
        backoff = 0.0
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
                batch = dict(self._pending)
            try:
                storage.write_many({self._entry(key): data for key, (data, _) in batch.items()}, conn_id=self._conn_id)
            except Exception as err:
                backoff = min(max(backoff * 2, 0.2), self._sync_seconds)
                name = type(err).__name__
                log.warning("could not upload %d results to the cache %s (%s); retrying", len(batch), self._shown, name)
                with self._cond:
                    self._failing = True
                    self._cond.notify_all()
                    if self._closing:
                        return
                    self._cond.wait(backoff)
                continue
            backoff = 0.0
            with self._cond:
                self._failing = False
                uploaded = []
                for key, value in batch.items():
                    if self._pending.get(key) is value:  # not replaced by a newer put meanwhile
                        del self._pending[key]
                        uploaded.append(key)
                release = [key for key in uploaded if key in self._release_after_upload]
                self._release_after_upload.difference_update(release)
                self._cond.notify_all()
            for key in release:
                if self._claims is not None:
                    self._claims.release(key)


class _LegacyCache:
    """Read-only lookups in the SQLite file of earlier versions (table ``results``)."""

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def get(self, key: str) -> tuple[dict[str, Any], float] | None:
        try:
            with self._lock:
                row = self._db.execute("SELECT result, obtained_at FROM results WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as err:
            log.warning("could not read the earlier SQLite cache (%s); counted as a miss", type(err).__name__)
            return None
        return (json.loads(row[0]), float(row[1])) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
