"""One storage adapter for every module that reads or writes files: local paths and object storage.

Why one place: streaming reads, atomic publishing, owner-only files and the ``storage_conn_id`` of
object storage were each written per module, and a fix reached only some of them. A location is a
plain path or ``file://`` URI (handled with ``os``), or any other URI, handled through Airflow's
``ObjectStoragePath`` with the connection given (``s3://`` needs the Amazon provider with s3fs).

Atomic means a reader sees the previous content or the complete new one, never a partial file:
locally a hidden temporary file in the same folder is renamed over the target; on object storage
one ``PUT`` of the whole object is atomic by itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from airflow_provider_tencent_ocr.exceptions import ConnectionConfigError, StorageBackendMissing
from airflow_provider_tencent_ocr.io.uris import (
    local_path,
    open_local,
    password_in_uri,
    redact_library_logs,
    redact_uri,
    scheme,
    storage_install_hint,
)

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

__all__ = [
    "configuration_error",
    "PERSONAL_DATA",
    "PRIVATE",
    "Permissions",
    "StorageBackendMissing",
    "create_exclusive",
    "delete",
    "exists",
    "filesystem",
    "join",
    "list_files",
    "make_dirs",
    "open_read",
    "publish",
    "read_bytes",
    "remote_path",
    "write_bytes",
    "write_many",
    "fingerprint",
]


def configuration_error(exc: BaseException, uri: str) -> ConnectionConfigError | None:
    """``exc`` as a ``ConnectionConfigError`` when it says the storage connection is missing or unusable.

    That is the run's configuration, not one object's fault: the run stops at the first image
    instead of making every row an error row (a run that looks like a success).
    """
    from airflow.sdk.exceptions import AirflowNotFoundException

    if isinstance(exc, ConnectionConfigError):
        return exc
    if isinstance(exc, AirflowNotFoundException):
        return ConnectionConfigError(f"the storage connection for {scheme(uri)}:// images cannot be used: {exc}")
    return None


def remote_path(uri: str, conn_id: str | None = None) -> ObjectStoragePath:
    """The ``ObjectStoragePath`` of an object-storage URI, with a clear error when its backend is missing."""
    from airflow.sdk import ObjectStoragePath

    if password_in_uri(uri):  # Airflow would take "user:password" for a connection id, and log it
        raise ConnectionConfigError(
            f"{redact_uri(uri)} was given with user:password@ in it, which is never used (nor shown): put the "
            "credentials in an Airflow connection and pass its id (storage_conn_id), then remove them from the URI"
        )
    try:
        path = ObjectStoragePath(uri, conn_id=conn_id)
        path.fs  # noqa: B018 - the filesystem is built lazily: fail here, with the package to install
    except (ImportError, ValueError) as err:
        # ValueError: "No filesystem registered for scheme ..." when the scheme's provider is absent.
        if isinstance(err, ValueError) and "filesystem" not in str(err).lower():
            raise
        missing = f"no filesystem for {scheme(uri)}:// is installed: {storage_install_hint(uri)}"
        raise StorageBackendMissing(missing) from err
    return path


def filesystem(uri: str, conn_id: str | None) -> tuple[Any, str]:
    """The fsspec filesystem and in-store path of an object-storage URI.

    Through Airflow (and ``conn_id``) whenever Airflow has a filesystem for the scheme; without a
    connection, a scheme only fsspec knows (``memory://``, ``http://``...) is served by fsspec.
    """
    redact_library_logs()  # their DEBUG lines name the whole URL, signature included
    try:
        remote = remote_path(uri, conn_id)
    except StorageBackendMissing:
        if conn_id is not None:
            raise
        import fsspec

        try:
            return fsspec.core.url_to_fs(uri)
        except (ImportError, ValueError):
            raise StorageBackendMissing(
                f"no filesystem for {scheme(uri)}:// is installed: {storage_install_hint(uri)}"
            ) from None
    return remote.fs, remote.path


def join(uri: str, *parts: str) -> str:
    """``uri`` with ``parts`` appended as path segments, keeping its scheme (no connection id in it)."""
    path = local_path(uri)
    if path is not None and not scheme(uri):
        return os.path.join(path, *parts)
    return posixpath.join(uri.rstrip("/"), *parts)


def exists(uri: str, *, conn_id: str | None = None) -> bool:
    """Whether a file (or folder) is there."""
    path = local_path(uri)
    if path is not None:
        return os.path.exists(path)
    fs, key = filesystem(uri, conn_id)
    return bool(fs.exists(key))


def fingerprint(uri: str, *, conn_id: str | None = None) -> tuple[object, ...]:
    """What changes when the file is rewritten: size and modification time (and inode, or the ETag).

    Read fresh from the store each time (fsspec caches listings), so two calls compare the file
    as it is now and as it was then.
    """
    path = local_path(uri)
    if path is not None:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns, st.st_ino
    fs, key = filesystem(uri, conn_id)
    with contextlib.suppress(Exception):
        fs.invalidate_cache(key)
    info = fs.info(key)
    fields = ("size", "ETag", "etag", "md5Hash", "LastModified", "last_modified", "mtime", "updated", "generation")
    return tuple(str(info.get(name)) for name in fields)


@contextlib.contextmanager
def open_read(uri: str, *, conn_id: str | None = None) -> Iterator[BinaryIO]:
    """A binary file object to stream from (seekable for local files and most object stores)."""
    path = local_path(uri)
    if path is not None:
        with open_local(path) as handle:  # refuses a FIFO instead of blocking on it
            yield handle
        return
    fs, key = filesystem(uri, conn_id)
    with fs.open(key, "rb") as handle:
        # fsspec's files lack parts of the io API (``readline(limit)``, ``peek``): a standard
        # buffered reader over them gives every caller the same file object as a local file.
        # (typed as raw streams, which is how BufferedReader uses them: readinto and read)
        yield (
            io.BufferedReader(cast(Any, handle))
            if isinstance(handle, io.IOBase) and not _is_buffered(handle)
            else handle
        )


def _is_buffered(handle: Any) -> bool:
    return isinstance(handle, io.BufferedIOBase | io.TextIOBase)


def read_bytes(uri: str, *, conn_id: str | None = None) -> bytes:
    """The whole content; ``FileNotFoundError`` when there is nothing there."""
    path = local_path(uri)
    if path is not None:
        with open(path, "rb") as handle:
            return handle.read()
    fs, key = filesystem(uri, conn_id)
    # A read from offset 0 is one GET; a whole-object read makes s3fs ask for the size first (HEAD,
    # and a LIST when the object is missing), which triples the requests of every cache lookup.
    return fs.cat_file(key, start=0)


@dataclass(frozen=True)
class Permissions:
    """The modes of the local files and folders a write creates; object storage keeps the bucket's own.

    Applied exactly (the umask does not widen or narrow them), to new folders only: an existing
    folder such as ``/tmp`` is never changed. A file is private (0600) while it is written and gets
    ``file`` only when it is complete.
    """

    file: int
    dir: int

    def __post_init__(self) -> None:
        for name, mode, needed in (("file_mode", self.file, 0o600), ("dir_mode", self.dir, 0o700)):
            if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
                raise ValueError(f"{name} must be a permission number such as 0o{needed | 0o40:o}, not {mode!r}")
            if mode & needed != needed:
                raise ValueError(
                    f"{name}=0o{mode:o} leaves the owner without {'read and write' if needed == 0o600 else 'rwx'} "
                    f"access, which the provider needs; use at least 0o{needed:o}"
                )


#: The cache and its claims: raw results, owner only.
PRIVATE = Permissions(0o600, 0o700)
#: Outputs and portraits by default: readable by the owner's group, nobody else.
PERSONAL_DATA = Permissions(0o640, 0o750)


def make_dirs(directory: str, permissions: Permissions | None = None) -> None:
    """Create ``directory`` and its missing parents; each new one gets ``permissions.dir`` (else the umask's)."""
    if permissions is None:
        os.makedirs(directory or ".", exist_ok=True)
        return
    missing = []
    current = os.path.abspath(directory or ".")
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, permissions.dir)
        except FileExistsError:  # created meanwhile by another writer: its mode is its creator's
            continue
        os.chmod(folder, permissions.dir)  # exactly, whatever the umask


def _write_local(path: str, data: bytes, *, permissions: Permissions | None) -> None:
    directory, name = os.path.split(os.path.abspath(path))
    make_dirs(directory, permissions)
    # Hidden and without the target's suffix, so globbing readers never pick it up.
    temp = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if permissions else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if permissions is not None:
                os.fchmod(handle.fileno(), permissions.file)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def write_bytes(
    uri: str,
    data: bytes,
    *,
    conn_id: str | None = None,
    private: bool = False,
    permissions: Permissions | None = None,
) -> None:
    """Write a whole file atomically.

    Locally, ``permissions`` sets the modes of the file and of the folders created for it;
    ``private`` is ``permissions=PRIVATE`` (0600, folders 0700); neither leaves them to the umask.
    """
    path = local_path(uri)
    if path is not None:
        _write_local(path, data, permissions=PRIVATE if private else permissions)
        return
    fs, key = filesystem(uri, conn_id)
    fs.pipe_file(key, data)


def create_exclusive(uri: str, data: bytes, *, conn_id: str | None = None, private: bool = False) -> bool:
    """Create a file only if nothing is there yet; True when this call created it, False when it exists.

    Locally the content is written to a hidden temp file and hard-linked into place, so the file appears
    whole and only one of several racing creators wins. On object storage this is a conditional PUT
    (``If-None-Match: *``, fsspec's ``mode="create"``), which S3 and S3-compatible stores honour; a
    filesystem without conditional writes falls back to look-then-write, where two creators racing within
    one round trip may both win (see the cache's documentation).
    """
    path = local_path(uri)
    if path is not None:
        directory, name = os.path.split(os.path.abspath(path))
        make_dirs(directory, PRIVATE if private else None)
        temp = os.path.join(directory, f".{name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.link(temp, path)
            return True
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
    fs, key = filesystem(uri, conn_id)
    try:
        fs.pipe_file(key, data, mode="create")
    except FileExistsError:
        return False
    except OSError as err:  # s3fs maps 412 PreconditionFailed to an OSError(EINVAL)
        if "PreconditionFailed" in str(err) or "412" in str(err) or "precondition" in str(err).lower():
            return False
        raise
    except TypeError:  # a filesystem whose pipe_file takes no mode: look, then write
        if fs.exists(key):
            return False
        fs.pipe_file(key, data)
    return True


def delete(uri: str, *, conn_id: str | None = None) -> None:
    """Remove one file; a file already gone is fine."""
    path = local_path(uri)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    fs, key = filesystem(uri, conn_id)
    with contextlib.suppress(FileNotFoundError):
        fs.rm_file(key)


def write_many(files: Mapping[str, bytes], *, conn_id: str | None = None, private: bool = False) -> None:
    """Write several small files atomically each; on object storage they go up concurrently in one call."""
    remote: dict[str, bytes] = {}
    fs: Any = None
    for uri, data in files.items():
        if local_path(uri) is not None:
            write_bytes(uri, data, private=private)
            continue
        target_fs, key = filesystem(uri, conn_id)
        if fs is not None and target_fs is not fs:  # different stores: one call each
            write_bytes(uri, data, conn_id=conn_id)
            continue
        fs = target_fs
        remote[key] = data
    if remote:
        fs.pipe(remote)


def publish(local_file: str, uri: str, *, conn_id: str | None = None, permissions: Permissions | None = None) -> None:
    """Publish a finished local file under ``uri`` atomically, then remove ``local_file``.

    Locally the file is renamed (copied next to the target first when it is on another
    filesystem); on object storage it is streamed up as one object.
    """
    path = local_path(uri)
    if path is not None:
        target = os.path.abspath(path)
        make_dirs(os.path.dirname(target), permissions)
        if permissions is not None:
            os.chmod(local_file, permissions.file)
        try:
            os.replace(local_file, target)
        except OSError:  # another filesystem: copy beside the target, then rename there
            fd, temp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.")
            os.close(fd)
            try:
                shutil.copyfile(local_file, temp)
                if permissions is not None:
                    os.chmod(temp, permissions.file)
                os.replace(temp, target)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
                raise
            os.unlink(local_file)
        return
    fs, key = filesystem(uri, conn_id)
    with open(local_file, "rb") as src, fs.open(key, "wb") as dst:
        shutil.copyfileobj(src, dst, 8 << 20)
    os.unlink(local_file)


def list_files(uri: str, *, conn_id: str | None = None) -> list[str]:
    """The files under a folder, recursively, as URIs in the folder's own form; empty when it is absent."""
    path = local_path(uri)
    if path is not None:
        found = []
        for root, _dirs, names in os.walk(path):
            found += [os.path.join(root, name) for name in names]
        base = uri.rstrip("/")
        return sorted(base + found_path[len(path.rstrip("/")) :] for found_path in found)
    fs, key = filesystem(uri, conn_id)
    prefix = key.rstrip("/")
    fs.invalidate_cache(prefix)  # another writer may have added files since the last listing
    try:
        keys = fs.find(prefix)
    except FileNotFoundError:
        return []
    base = uri.rstrip("/")
    return sorted(base + key[len(prefix) :] for key in keys)
