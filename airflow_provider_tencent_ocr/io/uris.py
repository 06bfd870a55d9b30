"""Telling a local path from an object-storage URI, in one place for every module that reads or writes."""

from __future__ import annotations

import logging
import os
import re
import stat
from typing import BinaryIO
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from airflow_provider_tencent_ocr.exceptions import NotARegularFile

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


# --------------------------------------------------------------------------------------------------
# Opening local files without blocking on a FIFO


def open_local(path: str) -> BinaryIO:
    """Open ``path`` for binary reading; refuse a FIFO or socket before any read can block.

    ``O_NONBLOCK`` makes ``open`` return at once even on a FIFO with no writer; the type is checked
    on the opened descriptor (no race with a swapped file), and blocking mode is restored for reads.
    Regular files and character devices (``/dev/zero``) open as usual.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
            raise NotARegularFile(f"{kind}, not a regular file")
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


# --------------------------------------------------------------------------------------------------
# URIs without credentials

# Query parameters that sign or authorise a URL (compared lower-case): S3/MinIO, GCS, COS, OSS,
# Azure SAS, and the usual generic names. Dropping them keeps the object and loses the secret.
_SECRET_PARAMS = frozenset(
    {
        # AWS S3 / MinIO (SigV4 and SigV2 query auth)
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-algorithm",
        "awsaccesskeyid",
        "signature",
        "expires",
        # Google Cloud Storage
        "x-goog-signature",
        "x-goog-credential",
        "x-goog-date",
        "x-goog-expires",
        "x-goog-signedheaders",
        "x-goog-algorithm",
        "googleaccessid",
        # Tencent COS
        "sign",
        "q-signature",
        "q-sign-algorithm",
        "q-ak",
        "q-sign-time",
        "q-key-time",
        "q-header-list",
        "q-url-param-list",
        "x-cos-security-token",
        # Alibaba OSS
        "ossaccesskeyid",
        "security-token",
        # Azure SAS
        "sig",
        "se",
        "st",
        "sp",
        "sv",
        "sr",
        "spr",
        "ss",
        "srt",
        "si",
        "skoid",
        "sktid",
        "skt",
        "ske",
        "sks",
        "skv",
        # generic
        "token",
        "access_token",
        "auth",
        "authorization",
        "api_key",
        "apikey",
        "password",
        "passwd",
        "secret",
        "credential",
        "credentials",
    }
)
_AZURE_ONLY = frozenset(
    {"se", "st", "sp", "sv", "sr", "spr", "ss", "srt", "si", "skoid", "sktid", "skt", "ske", "sks", "skv"}
)


def _is_secret_param(name: str, azure_sas: bool) -> bool:
    lowered = name.lower()
    if lowered in _AZURE_ONLY:
        return azure_sas  # short names like ``sp`` are only signatures next to Azure's ``sig``
    return lowered in _SECRET_PARAMS or lowered.endswith(("_token", "-token", "signature"))


def redact_uri(uri: str | None) -> str | None:
    """The URI without credentials: no ``user:password@`` and no signature or token parameters.

    What is left still names the object (bucket, key, other query parameters), so it is both safe
    to write to the output and a stable identity: re-signing the same object gives the same text.
    Plain paths are returned unchanged. Airflow's ``s3://conn_id@bucket/key`` form loses the
    connection id too, which no client outside Airflow understands.
    """
    if not uri or not scheme(uri):
        return uri
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an invalid IPv6 host: nothing safe to keep but the scheme
        return scheme(uri) + "://(unparseable URI)"
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        azure_sas = any(name.lower() == "sig" for name, _ in pairs)
        kept = [(name, value) for name, value in pairs if not _is_secret_param(name, azure_sas)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


# A URI inside free text (a message, an exception's text): up to a space, quote or bracket.
_URI_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>()\[\]{}]+")
# A query parameter outside any URI (``?X-Amz-Signature=...`` quoted on its own by a library).
_PARAM_IN_TEXT = re.compile(r"(?<=[?&])([A-Za-z][\w.\-]*)=([^&\s'\"<>()\[\]{}]*)")


def display_uri(uri: str) -> str:
    """The URI for messages: :func:`redact_uri`, and any query shown as ``?…`` (a message needs no parameters)."""
    shown = redact_uri(uri) or uri
    if not scheme(uri):
        return shown
    base, query, _ = shown.partition("?")
    return base + ("?…" if query or "?" in uri else "")


def redact_text(text: str) -> str:
    """``text`` with every URI in it passed through :func:`redact_uri`, and stray signature parameters dropped.

    For messages that quote a URI, or a library's exception text that may contain one (an HTTP
    filesystem names the whole presigned URL in its errors).
    """
    if "=" not in text and "@" not in text:
        return text
    text = _URI_IN_TEXT.sub(lambda match: redact_uri(match.group(0)) or "", text)
    return _PARAM_IN_TEXT.sub(
        lambda match: "(redacted)" if _is_secret_param(match.group(1), azure_sas=False) else match.group(0), text
    )


class RedactingFilter(logging.Filter):
    """A log filter that passes each record's text through :func:`redact_text` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        shown = redact_text(text)
        if shown != text:
            record.msg, record.args = shown, None
        if record.exc_info and not record.exc_text:  # a traceback may quote the URL too (aiohttp errors do)
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


# Libraries that log whole request URLs (query string included) at DEBUG when they read a file.
_URL_LOGGERS = ("fsspec", "fsspec.http", "s3fs", "gcsfs", "adlfs", "aiohttp.client", "urllib3.connectionpool")
_REDACTING_FILTER = RedactingFilter()


def redact_library_logs() -> None:
    """Attach the redacting filter to the loggers of the storage libraries (idempotent)."""
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)


def password_in_uri(uri: str) -> bool:
    """Whether ``uri`` carries ``user:password@``: never used, and Airflow would read it as a connection id."""
    if not scheme(uri):
        return False
    try:
        return urlsplit(uri).password is not None
    except ValueError:
        return False


def storage_install_hint(uri: str) -> str:
    """Which package serves ``uri``'s scheme, for a missing-filesystem ImportError."""
    kind = scheme(uri)
    package = {
        "s3": "apache-airflow-providers-amazon[s3fs]",
        "s3a": "apache-airflow-providers-amazon[s3fs]",
        "gs": "apache-airflow-providers-google",
        "gcs": "apache-airflow-providers-google",
        "abfs": "apache-airflow-providers-microsoft-azure",
        "abfss": "apache-airflow-providers-microsoft-azure",
        "az": "apache-airflow-providers-microsoft-azure",
        "adl": "apache-airflow-providers-microsoft-azure",
        "cos": "airflow-provider-tencent-ocr[cos]",  # this provider serves cos:// itself, through s3fs
    }.get(kind)
    if package:
        return f"install {package} to read {kind}:// URIs"
    return f"install the Airflow provider (and its fsspec filesystem) that serves {kind}:// URIs"
