"""The hidden temporary file an output is written to: private, locked while alive, swept when stale.

An output's rows (personal data) are written to a temporary file that becomes the output only when
the run commits. A writer killed with SIGKILL cannot remove it, so every writer holds an exclusive
``flock`` on its own temporary file for as long as it lives; the kernel releases that lock when the
process dies, however it dies. The next writer of the same output removes each temporary file of
that output it can lock (its writer is gone) and leaves the ones it cannot (a writer still running).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import tempfile
import uuid

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: no sweep there, files are still private
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockedTempFile", "remove_stale"]

_REMOTE_PREFIX = "tencent-ocr-output-"


def _pattern(target: str, local: bool) -> tuple[str, str]:
    """The folder and name prefix of ``target``'s temporary files.

    Local outputs: hidden, beside the target, without its suffix (globbing readers skip them).
    Object storage: in the system's temporary folder, named by a digest of the target.
    """
    if local:
        directory, name = os.path.split(os.path.abspath(target))
        return directory, f".{name}."
    from airflow_provider_tencent_ocr.io.uris import redact_uri

    # By the object, not its signature: a re-signed URL of the same output finds its stale files.
    digest = hashlib.sha256((redact_uri(target) or target).encode("utf-8")).hexdigest()[:16]
    return tempfile.gettempdir(), f"{_REMOTE_PREFIX}{digest}-"


def remove_stale(target: str, *, local: bool) -> int:
    """Remove the temporary files of ``target`` whose writer is gone; return how many were removed."""
    if fcntl is None:
        return 0
    directory, prefix = _pattern(target, local)
    removed = 0
    for path in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*.tmp")):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # gone meanwhile, a symlink, or not ours to read
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it
            os.close(fd)
            continue
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)  # releases the lock
    return removed


class LockedTempFile:
    """A new private (0600) temporary file for ``target``, exclusively locked until :meth:`release`."""

    def __init__(self, target: str, *, local: bool) -> None:
        directory, prefix = _pattern(target, local)
        unique = uuid.uuid4().hex
        self.path = os.path.join(directory, f"{prefix}{unique}.tmp")
        # Created and locked under a name the sweep does not match, then renamed (the lock follows
        # the file): no other writer ever sees this file unlocked.
        creating = os.path.join(directory, f"{prefix}{unique}.new")
        self._fd: int | None = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.rename(creating, self.path)
        except BaseException:
            os.close(self._fd)
            self._fd = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(creating)
            raise

    def release(self, *, remove: bool) -> None:
        """Drop the lock (after the file was published, or to discard it with ``remove=True``). Idempotent."""
        if remove:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
