"""Claims on result-cache keys, so tasks sharing a cache never pay twice for one image.

A cache alone cannot promise that: two tasks can both miss a key while the first one's call is still
running. So before calling, a task claims the key with a small file beside the result
(``<cache>/<key[:2]>/<key>.claim``), created only if none is there: an exclusive create on local disk,
a conditional PUT (``If-None-Match: *``) on object storage. Whoever created it calls and stores the
result; the others wait for that result instead of calling.

A claim is a lease: it names its holder (host, process, start time) and when it expires. The holder
renews it in the background while it works, so a long retry under throttling keeps it; a holder that
dies stops renewing, and its claim is taken over when it expires, or at once when the holder was a
process on this host that is gone (a killed task's rerun does not wait out the lease).

Limits, in the documentation too: a taken-over claim can race with a second taker (both may call: one
extra recognition), and a store without conditional writes falls back to look-then-write.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid

from airflow_provider_tencent_ocr.io import storage

log = logging.getLogger(__name__)

CLAIM_SUFFIX = ".claim"
DEFAULT_LEASE_SECONDS = 60.0


def _process_started(pid: int) -> str | None:
    """The start time of a process on this host (from /proc), to tell a live holder from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


class ClaimBook:
    """The claims one run holds in one cache folder, renewed in the background until released."""

    def __init__(self, uri: str, *, conn_id: str | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        if lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {lease_seconds!r}")
        self.uri = uri.rstrip("/") or uri
        self._conn_id = conn_id
        self.lease_seconds = lease_seconds
        self._holder = {
            "holder": uuid.uuid4().hex,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_started": _process_started(os.getpid()),
        }
        self._held: set[str] = set()
        self._unreadable: dict[str, float] = {}  # claim path -> when it was first found unreadable
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _path(self, key: str) -> str:
        return storage.join(self.uri, key[:2], key + CLAIM_SUFFIX)

    def _content(self) -> bytes:
        return json.dumps({**self._holder, "expires_at": time.time() + self.lease_seconds}).encode()

    def claim(self, key: str) -> bool:
        """True when this run now holds ``key`` (call, store, then ``release``); False when another live holder does."""
        path = self._path(key)
        for _ in range(3):  # a stale claim removed by us (or another taker) may be re-created in between
            if storage.create_exclusive(path, self._content(), conn_id=self._conn_id, private=True):
                with self._lock:
                    self._held.add(key)
                    self._start_renewer()
                return True
            if not self._is_stale(path):
                return False
            log.info("taking over an expired claim on a cache entry (its holder stopped)")
            storage.delete(path, conn_id=self._conn_id)
        return False

    def release(self, key: str) -> None:
        """Give ``key`` up (after its result is stored, or after a failure that stores nothing)."""
        with self._lock:  # not while the renewer rewrites it, which would bring it back
            if key not in self._held:
                return
            self._held.discard(key)
            try:
                storage.delete(self._path(key), conn_id=self._conn_id)
            except Exception as err:  # it expires by itself
                log.warning("could not release a claim in the cache %s (%s)", self.uri, type(err).__name__)

    def close(self) -> None:
        """Release every claim still held and stop renewing."""
        self._stop.set()
        with self._lock:
            held = list(self._held)
        for key in held:
            self.release(key)
        if self._renewer is not None:
            self._renewer.join(timeout=5)

    # -- leases ---------------------------------------------------------------------------------
    def _is_stale(self, path: str) -> bool:
        """Whether the claim at ``path`` has expired or its holder, a process on this host, is gone."""
        try:
            claim = json.loads(storage.read_bytes(path, conn_id=self._conn_id))
        except FileNotFoundError:
            return True  # released meanwhile: try to create it again
        except (ValueError, OSError):
            # Being written, or unreadable for now: held, ask again later; but one that stays unreadable
            # for a whole lease (emptied or cut short by a crash) has no holder left to renew it.
            first_seen = self._unreadable.setdefault(path, time.monotonic())
            return time.monotonic() - first_seen > self.lease_seconds
        self._unreadable.pop(path, None)
        if not isinstance(claim, dict):
            return True
        if claim.get("host") == self._holder["host"] and isinstance(claim.get("pid"), int):
            started = _process_started(claim["pid"])
            if started is None or started != claim.get("pid_started"):
                return True  # that process is gone (or its pid was reused)
        expires_at = claim.get("expires_at")
        return not isinstance(expires_at, int | float) or time.time() > expires_at

    def _start_renewer(self) -> None:
        if self._renewer is None or not self._renewer.is_alive():
            self._renewer = threading.Thread(target=self._renew_loop, name="tencent-ocr-claims", daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:  # a key released meanwhile is not renewed (nor re-created)
                for key in list(self._held):
                    try:
                        storage.write_bytes(self._path(key), self._content(), conn_id=self._conn_id, private=True)
                    except Exception as err:
                        log.warning("could not renew a claim in the cache %s (%s)", self.uri, type(err).__name__)
