"""Adversarial suite: bad manifests, images, HTTP servers, outputs and faults against the operator.

Every case runs the real operator (or ``load_image`` where a case needs a short timeout) against
the in-process emulator and loopback HTTP servers, in a thread with a wall-clock guard, while the
task's log lines and stdout are captured. Each case checks its expected outcome and counts:

* rows lost: a run that succeeded with fewer output rows than the user wrote (must be 0);
* hangs: a case still running after the guard (must be 0);
* leaks: a secret (signature, token, password, SecretKey) or a card's personal data found in a
  log line, an exception message or the XCom result, or a secret found in the output file
  (must be 0).

Run: ``.venv/bin/python benchmarks/adversarial.py`` (about a minute; everything on loopback,
every server stopped at the end). Exit status 1 if any case failed or any total is not 0.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import gzip
import http.server
import io
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="tencent-ocr-adversarial-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

import pyarrow as pa  # noqa: E402 - after AIRFLOW_HOME
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import make_png  # noqa: E402

CASE_SECONDS = 60.0
FIELDS = {"EnName": "TAN AH KOW", "ID": "S1234567D", "Sex": "M", "Birthday": "01-02-1980", "Address": "1 KYC ROAD"}
PERSONAL = ("TAN AH KOW", "S1234567D", "1 KYC ROAD", "S9999999Z")  # S9999999Z: a manifest cell
SECRETS = ["SIGNATURE0123", "CREDENTIAL0123", "SESSIONTOKEN0123", "hunter2"]


# --------------------------------------------------------------------------------------------------
# What a case returns, and the harness


@dataclass
class Verdict:
    ok: bool
    detail: str = ""
    rows_lost: int = 0
    texts: list[str] = field(default_factory=list)  # more text to scan for leaks (messages, XCom)
    secret_files: list[Path] = field(default_factory=list)  # files that must hold no secret


@dataclass
class Outcome:
    name: str
    group: str
    ok: bool = False
    hang: bool = False
    rows_lost: int = 0
    leaks: list[str] = field(default_factory=list)
    detail: str = ""


class _Tee(io.TextIOBase):
    """Captures what any thread prints while a case runs."""

    def __init__(self) -> None:
        self.buffer_ = io.StringIO()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self.buffer_.write(text)

    def getvalue(self) -> str:
        with self._lock:
            return self.buffer_.getvalue()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a bad record must not stop the suite
            self.lines.append(str(record.msg))


def _leaks(texts: list[str], files: list[Path]) -> list[str]:
    found = []
    for text in texts:
        for marker in (*PERSONAL, *SECRETS):
            if marker in text:
                found.append(f"{marker!r} in text")
    for path in files:
        if path.exists():
            data = path.read_bytes()
            found += [f"{marker!r} in {path.name}" for marker in SECRETS if marker.encode() in data]
    return found


def run_case(name: str, group: str, fn: Callable[[], Verdict]) -> Outcome:
    outcome = Outcome(name, group)
    tee, capture = _Tee(), _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    saved_level = root.level
    root.setLevel(logging.DEBUG)  # stricter than Airflow's default (INFO): library debug lines count too
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["verdict"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported as a failed case
            box["error"] = exc
            box["trace"] = traceback.format_exc()

    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = tee  # type: ignore[assignment]
    try:
        thread = threading.Thread(target=target, daemon=True, name=f"case-{name}")
        thread.start()
        thread.join(CASE_SECONDS)
    finally:
        sys.stdout, sys.stderr = saved
        root.removeHandler(capture)
        root.setLevel(saved_level)
    if thread.is_alive():
        outcome.hang = True
        outcome.detail = f"still running after {CASE_SECONDS:.0f} s"
        return outcome
    texts = [tee.getvalue(), *capture.lines]
    if "error" in box:
        outcome.detail = f"harness error {type(box['error']).__name__}: {box['error']}"
        texts.append(box["trace"])
        outcome.leaks = _leaks(texts, [])
        return outcome
    verdict: Verdict = box["verdict"]
    outcome.ok, outcome.detail, outcome.rows_lost = verdict.ok, verdict.detail, max(verdict.rows_lost, 0)
    outcome.leaks = _leaks(texts + verdict.texts, verdict.secret_files)
    return outcome


# --------------------------------------------------------------------------------------------------
# Running the operator


class Env:
    """Shared state: a work folder, the emulator, the HTTP fault server."""

    def __init__(self, root: Path, emulator: Any, http_base: str, counter: Any) -> None:
        self.root, self.emulator, self.http_base, self.counter = root, emulator, http_base, counter
        self._n = 0
        self.png = make_png(6, 6, seed=1)
        emulator.recogniser.add(self.png, FIELDS)

    def folder(self) -> Path:
        self._n += 1
        path = self.root / f"case{self._n:03d}"
        path.mkdir()
        return path

    def image(self, folder: Path, seed: int = 1) -> str:
        data = make_png(6, 6, seed=seed)
        self.emulator.recogniser.add(data, FIELDS)
        path = folder / f"img{seed}.png"
        path.write_bytes(data)
        return str(path)


@dataclass
class Run:
    result: dict[str, Any] | None
    error: BaseException | None
    rows: list[dict[str, Any]]
    output: Path
    requests: int

    def texts(self) -> list[str]:
        texts = [json.dumps(self.result, default=str)] if self.result else []
        if self.error is not None:
            chain, err = [], self.error
            while err is not None:
                chain.append(f"{type(err).__name__}: {err}")
                # What Airflow's traceback shows: the cause, or the context unless suppressed.
                err = (
                    err.__cause__
                    if err.__cause__ is not None
                    else (None if err.__suppress_context__ else err.__context__)
                )
            texts += chain
        return texts


def run_operator(env: Env, folder: Path, **kwargs: Any) -> Run:
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    kwargs.setdefault("output", str(folder / "out" / "cards.parquet"))
    kwargs.setdefault("max_in_flight", 4)
    kwargs.setdefault("max_attempts", 3)
    kwargs.setdefault("progress_interval", 60.0)
    kwargs.setdefault("outlets", [])
    before = env.emulator.stats.requests
    result, error = None, None
    output = Path(kwargs["output"])
    try:
        op = TencentOcrSingaporeIdCardOperator(task_id="ocr", **kwargs)
        result = op.execute({"outlet_events": collections.defaultdict(types.SimpleNamespace)})
        output = Path(op.output_uri)
    except Exception as exc:  # noqa: BLE001 - the case judges it
        error = exc
    rows = pq.read_table(output).to_pylist() if result is not None and output.exists() else []
    return Run(result, error, rows, output, env.emulator.stats.requests - before)


def _fail_fast(error: BaseException | None) -> bool:
    from airflow.sdk.exceptions import AirflowFailException

    return isinstance(error, AirflowFailException)


def _cause(error: BaseException | None) -> BaseException | None:
    """The error an AirflowFailException was raised from (the operator raises ``... from err``)."""
    return error.__cause__ if _fail_fast(error) and error is not None and error.__cause__ else error


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


# --------------------------------------------------------------------------------------------------
# Case builders


def expect_rows(env: Env, folder: Path, written: int, codes: dict[str, int] | None = None, **kwargs: Any) -> Verdict:
    """The run succeeds with exactly ``written`` rows (and these error codes, when given)."""
    run = run_operator(env, folder, **kwargs)
    lost = written - len(run.rows) if run.error is None else 0
    if run.error is not None:
        return Verdict(False, f"failed: {type(run.error).__name__}: {run.error}", texts=run.texts())
    got = (run.result or {}).get("errors_by_code", {})
    ok = len(run.rows) == written and (codes is None or got == codes)
    return Verdict(ok, f"{len(run.rows)} rows, errors {got}", lost, run.texts(), [run.output])


def expect_refused(
    env: Env, folder: Path, kind: type, must_name: str | None, *, written: int = 0, **kwargs: Any
) -> Verdict:
    """The run fails before any call with ``kind`` (as an AirflowFailException) naming ``must_name``."""
    run = run_operator(env, folder, **kwargs)
    if run.error is None:
        lost = written - len(run.rows)
        return Verdict(False, f"not refused: {len(run.rows)} rows", lost, run.texts(), [run.output])
    ok = isinstance(_cause(run.error), kind) and _fail_fast(run.error) and run.requests == 0
    if must_name:
        ok = ok and must_name in str(run.error)
    return Verdict(ok, f"{type(run.error).__name__}: {str(run.error)[:150]}", texts=run.texts())


def manifest_cases(env: Env) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    from airflow_provider_tencent_ocr.io.manifest import ManifestError

    def csv_case(text: str | bytes, name: str = "m.csv", **kw: Any) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            img = env.image(folder)
            body = text.replace("IMG", img) if isinstance(text, str) else text.replace(b"IMG", img.encode())
            path = write(
                folder / name,
                gzip.compress(body.encode() if isinstance(body, str) else body) if kw.pop("gz", False) else body,
            )
            refuse = kw.pop("refuse", None)
            written = kw.pop("written")
            if refuse is not None:
                return expect_refused(env, folder, ManifestError, refuse, written=written, manifest=str(path), **kw)
            return expect_rows(env, folder, written, kw.pop("codes", None), manifest=str(path), **kw)

        return fn

    head = "record_id,image_uri,note\n"
    yield (
        "csv: quote swallows two rows (issue example)",
        csv_case(head + 'a,IMG,fine\nb,IMG,"oops\nc,IMG,x\nd,IMG,y"\ne,IMG,z\n', refuse="line 3", written=5),
    )
    yield "csv: unclosed quote", csv_case(head + 'a,IMG,"S9999999Z\nb,IMG,x\nc,IMG,y\n', refuse="line 2", written=3)
    yield "csv: unclosed quote on the last line", csv_case(head + 'a,IMG,x\nb,IMG,"y\n', refuse="line 3", written=2)
    yield (
        "csv: unclosed quote, gzip",
        csv_case(head + 'a,IMG,"x\nb,IMG,y\n', name="m.csv.gz", gz=True, refuse="line 2", written=2),
    )
    yield (
        "csv: quoted address over two lines",
        csv_case(head + 'a,IMG,"1 KYC ROAD\n#01-01"\nb,IMG,x\n', written=2, carry_columns=["note"]),
    )
    yield (
        "csv: every value quoted (500 rows)",
        csv_case(head + "".join(f'"r{i}","IMG","n{i}"\n' for i in range(500)), written=500, batch_rows=70),
    )
    yield "csv: quote in the middle of a value", csv_case(head + 'a,IMG,fi"ne\nb,IMG,x\n', written=2)
    yield "csv: doubled quotes inside a quoted value", csv_case(head + 'a,IMG,"say ""hi"", ok"\nb,IMG,x\n', written=2)
    yield "csv: CRLF line ends", csv_case(head.replace("\n", "\r\n") + "a,IMG,x\r\nb,IMG,y\r\n", written=2)
    yield "csv: UTF-8 BOM", csv_case("\ufeff" + head + "a,IMG,x\n", written=1)
    yield "csv: blank lines between rows", csv_case(head + "a,IMG,x\n\n\nb,IMG,y\n", written=2)
    yield "csv: no final newline", csv_case(head + "a,IMG,x\nb,IMG,y", written=2)
    yield "csv: header only", csv_case(head, written=0)
    yield "csv: blank image cells", csv_case(head + "a,,x\nb,IMG,y\n", written=2, codes={"InvalidManifestRow": 1})
    yield (
        "csv: NUL byte in an image cell",
        csv_case((head + "a,IMG\x00.png,x\nb,IMG,y\n").encode(), written=2, codes={"InvalidManifestRow": 1}),
    )
    yield (
        "csv: Latin-1 header",
        csv_case("r\xe9cord_id,image_uri\na,IMG\n".encode("latin-1"), refuse="UTF-8", written=1),
    )
    yield (
        "csv: Latin-1 cell",
        csv_case((head + "a,IMG,caf\xe9\n").encode("latin-1"), refuse="m.csv", written=1, carry_columns=["note"]),
    )
    yield (
        "csv: duplicate image columns",
        csv_case("image_uri,x,image_uri\nIMG,1,IMG\n", refuse="more than one", written=1),
    )
    yield "csv: a row with an extra column", csv_case(head + "a,IMG,x,S9999999Z\n", refuse="m.csv", written=1)
    yield "csv: missing image column", csv_case("record_id,picture\na,IMG\n", refuse="image_uri", written=1)
    yield "csv: good gzip", csv_case(head + "a,IMG,x\nb,IMG,y\n", name="m.csv.gz", gz=True, written=2)

    def truncated_gz() -> Verdict:
        folder = env.folder()
        img = env.image(folder)
        data = gzip.compress((head + "".join(f"r{i},{img},x\n" for i in range(5000))).encode())
        path = write(folder / "m.csv.gz", data[: len(data) // 2])
        return expect_refused(env, folder, ManifestError, "m.csv.gz", manifest=str(path), written=5000)

    yield "csv: truncated gzip", truncated_gz
    yield (
        "csv: plain text named .gz",
        csv_case(head + "a,IMG,S9999999Z\n", name="m.csv.gz", refuse="m.csv.gz", written=1),
    )

    def special(kind: str, name: str) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            path = folder / name
            if kind == "fifo":
                os.mkfifo(path)
            elif kind == "fifo-link":
                os.mkfifo(folder / "pipe")
                path.symlink_to(folder / "pipe")
            elif kind == "zero":
                path.symlink_to("/dev/zero")
            elif kind == "dir":
                path.mkdir()
            elif kind == "loop":
                path.symlink_to(path)
            return expect_refused(env, folder, ManifestError, name, manifest=str(path))

        return fn

    yield "manifest: FIFO .csv", special("fifo", "m.csv")
    yield "manifest: FIFO .jsonl", special("fifo", "m.jsonl")
    yield "manifest: FIFO .parquet", special("fifo", "m.parquet")
    yield "manifest: symlink to a FIFO", special("fifo-link", "m.csv")
    yield "manifest: /dev/zero as .jsonl", special("zero", "m.jsonl")
    yield "manifest: /dev/zero as .csv", special("zero", "m.csv")
    yield "manifest: a directory", special("dir", "m.csv")
    yield "manifest: a symlink loop", special("loop", "m.csv")
    yield (
        "manifest: missing",
        lambda: expect_refused(env, env.folder(), ManifestError, "nowhere.csv", manifest="/nonexistent/nowhere.csv"),
    )

    def jsonl_case(text: str | bytes, *, refuse: str | None = None, written: int, **kw: Any) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            img = env.image(folder)
            body = text.replace("IMG", img) if isinstance(text, str) else text
            path = write(folder / "m.jsonl", body)
            if refuse is not None:
                return expect_refused(env, folder, ManifestError, refuse, manifest=str(path), written=written, **kw)
            return expect_rows(env, folder, written, manifest=str(path), **kw)

        return fn

    yield "jsonl: good, blank lines", jsonl_case('{"image_uri": "IMG"}\n\n{"image_uri": "IMG"}\n', written=2)
    yield "jsonl: one JSON array", jsonl_case('[{"image_uri": "IMG"}]\n', refuse="one object per line", written=1)
    yield (
        "jsonl: a line that is not an object",
        jsonl_case('{"image_uri": "IMG"}\n"S9999999Z"\n', refuse="line 2", written=2),
    )
    yield (
        "jsonl: a 2 MB line",
        jsonl_case('{"image_uri": "' + "x" * (2 << 20) + '"}\n', refuse="longer than", written=1),
    )
    yield (
        "jsonl: Latin-1 line",
        jsonl_case('{"image_uri": "caf\xe9"}\n'.encode("latin-1"), refuse="not UTF-8", written=1),
    )

    def parquet_case(kind: str) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            img = env.image(folder)
            path = folder / "m.parquet"
            if kind == "duplicate":
                pq.write_table(pa.table([pa.array([img]), pa.array([img])], names=["image_uri", "image_uri"]), path)
                return expect_refused(env, folder, ManifestError, "more than one column", manifest=str(path), written=1)
            if kind == "corrupt":
                write(path, b"PAR1" + b"S9999999Z" * 50)
                return expect_refused(env, folder, ManifestError, "m.parquet", manifest=str(path), written=1)
            pq.write_table(pa.table({"image_uri": [img, img, None]}), path)
            return expect_rows(env, folder, 3, {"InvalidManifestRow": 1}, manifest=str(path))

        return fn

    yield "parquet: good, one null", parquet_case("good")
    yield "parquet: duplicate column names", parquet_case("duplicate")
    yield "parquet: corrupt", parquet_case("corrupt")

    def carry_string() -> Verdict:
        try:
            run_operator(env, env.folder(), manifest="m.csv")  # warm import
            from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

            TencentOcrSingaporeIdCardOperator(task_id="t", manifest="m.csv", output="/o.parquet", carry_columns="side")
        except ValueError as exc:
            return Verdict("e.g. ['side']" in str(exc), str(exc))
        return Verdict(False, "accepted")

    yield "arguments: carry_columns as a string", carry_string


def image_cases(env: Env) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    def one(make: Callable[[Path], str], code: str | None, **kw: Any) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            uri = make(folder)
            return expect_rows(env, folder, 1, {code: 1} if code else {}, images=[uri], **kw)

        return fn

    def fifo(folder: Path) -> str:
        os.mkfifo(folder / "card.png")
        return str(folder / "card.png")

    def fifo_link(folder: Path) -> str:
        os.mkfifo(folder / "pipe")
        (folder / "card.png").symlink_to(folder / "pipe")
        return str(folder / "card.png")

    yield "image: FIFO", one(fifo, "ImageNotFound")
    yield "image: symlink to a FIFO", one(fifo_link, "ImageNotFound")
    yield "image: FIFO as file:// URI", one(lambda f: "file://" + fifo(f), "ImageNotFound")
    yield "image: /dev/zero", one(lambda f: "/dev/zero", "ImageTooLarge")
    yield "image: a directory", one(lambda f: str(f), "ImageNotFound")
    yield "image: missing", one(lambda f: str(f / "nope.png"), "ImageNotFound")
    yield "image: empty file", one(lambda f: str(write(f / "e.png", b"")), "UnsupportedImageFormat")
    yield "image: text file", one(lambda f: str(write(f / "t.png", "S9999999Z")), "UnsupportedImageFormat")
    yield "image: NUL byte in the path", one(lambda f: env.image(f) + "\x00.png", "InvalidManifestRow")
    yield "image: whitespace URI", one(lambda f: "   ", "InvalidManifestRow")
    yield "image: unknown scheme", one(lambda f: "nosuchscheme://bucket/a.png", "ImageDownloadFailed")
    yield "image: file:// URI", one(lambda f: "file://" + env.image(f), None)
    yield (
        "image: 6 MB file",
        one(lambda f: str(write(f / "big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (6 << 20))), "ImageTooLarge"),
    )
    yield "image: send_as=url, local file", one(lambda f: env.image(f), None, send_as="url")


# --------------------------------------------------------------------------------------------------
# HTTP fault server


class _Faulty(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    png = b""
    counter: collections.Counter[str] = collections.Counter()

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0]
        self.counter[path] += 1
        n = self.counter[path]
        if path == "/ok.png":
            self._send(200, self.png)
        elif path == "/404.png":
            self._send(404, b"missing")
        elif path == "/503.png":
            self._send(503, b"busy")
        elif path.startswith("/flaky"):  # 500 once, then the image
            self._send(500 if n == 1 else 200, self.png)
        elif path == "/drop.png":
            self.connection.shutdown(socket.SHUT_RDWR)
        elif path == "/drip.png":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(100000):
                    self.wfile.write(b"\x89")
                    self.wfile.flush()
                    time.sleep(0.2)
        elif path == "/stall.png":
            time.sleep(8)
        elif path == "/huge-length.png":
            self.send_response(200)
            self.send_header("Content-Length", str(50 << 20))
            self.end_headers()
        elif path == "/huge-chunked.png":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"\x89PNG" + b"\0" * 65532
            with contextlib.suppress(OSError):
                for _ in range(200):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                self.wfile.write(b"0\r\n\r\n")
        elif path == "/loop.png":
            self.send_response(302)
            self.send_header("Location", "/loop.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/gzip.png":
            body = gzip.compress(self.png)
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/html.png":
            self._send(200, b"<html>S9999999Z</html>")
        elif path == "/short.png":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.png) + 1000))
            self.end_headers()
            self.wfile.write(self.png[:20])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(404, b"")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def http_cases(env: Env) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    from airflow_provider_tencent_ocr.io.images import ImageDownloadError, load_image

    base = env.http_base

    def one(path: str, code: str | None, **kw: Any) -> Callable[[], Verdict]:
        return lambda: expect_rows(env, env.folder(), 1, {code: 1} if code else {}, images=[base + path], **kw)

    yield "http: 200", one("/ok.png", None)
    yield "http: 404", one("/404.png", "ImageDownloadFailed")
    yield "http: 503 every time (retried, then the row)", one("/503.png", "ImageDownloadFailed")
    yield "http: 500 once, then 200", one("/flaky-a.png", None)
    yield "http: connection dropped", one("/drop.png", "ImageDownloadFailed")
    yield "http: Content-Length of 50 MB", one("/huge-length.png", "ImageTooLarge")
    yield "http: endless chunked body", one("/huge-chunked.png", "ImageTooLarge")
    yield "http: redirect loop", one("/loop.png", "ImageDownloadFailed")
    yield "http: gzip Content-Encoding", one("/gzip.png", None)
    yield "http: HTML with status 200", one("/html.png", "UnsupportedImageFormat")
    yield "http: body shorter than Content-Length", one("/short.png", "ImageDownloadFailed", max_attempts=1)
    yield "http: send_as=url", one("/ok.png", None, send_as="url")
    yield "http: 404, send_as=url (the API fetches it)", one("/404.png", "FailedOperation.DownLoadError", send_as="url")

    def refused_port() -> Verdict:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return expect_rows(
            env, env.folder(), 1, {"ImageDownloadFailed": 1}, images=[f"http://127.0.0.1:{port}/a.png"], max_attempts=1
        )

    yield "http: connection refused", refused_port

    def direct(path: str, timeout: float, deadline: float, expected: str) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            started = time.monotonic()
            try:
                load_image(base + path, timeout=timeout, deadline=deadline)
            except ImageDownloadError as exc:
                took = time.monotonic() - started
                return Verdict(exc.code == "ImageDownloadFailed" and expected in exc.message, f"{took:.1f} s: {exc}")
            return Verdict(False, "downloaded")

        return fn

    yield "http: one byte every 0.2 s (total deadline)", direct("/drip.png", 1.0, 3.0, "took longer than 3 s")
    yield "http: no answer at all (read timeout)", direct("/stall.png", 1.0, 3.0, "timed out")

    def signed(send_as: str) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            url = f"{base}/ok.png?v=1&X-Amz-Credential=CREDENTIAL0123&X-Amz-Security-Token=SESSIONTOKEN0123"
            first = run_operator(env, folder, images=[url + "&X-Amz-Signature=SIGNATURE0123"], send_as=send_as)
            again = run_operator(
                env, folder, images=[url.replace("0123", "9999") + "&X-Amz-Signature=X"], send_as=send_as
            )
            ok = (
                first.error is None
                and again.error is None
                and first.rows[0]["status"] == "ok"
                and first.rows[0]["image_uri"] == f"{base}/ok.png?v=1"
                and again.result is not None
                and again.result["api_calls"] == 0
            )
            detail = f"image_uri={first.rows[0]['image_uri'] if first.rows else None}, re-signed calls={again.result}"
            return Verdict(ok, detail, 1 - len(first.rows), first.texts() + again.texts(), [first.output])

        return fn

    yield "http: presigned URL, base64 (redacted; re-signed not billed)", signed("base64")
    yield "http: presigned URL, send_as=url (redacted; re-signed not billed)", signed("url")

    def userinfo() -> Verdict:
        folder = env.folder()
        run = run_operator(env, folder, images=[base.replace("http://", "http://reader:hunter2@") + "/ok.png"])
        ok = run.error is None and run.rows[0]["status"] == "ok" and "@" not in run.rows[0]["image_uri"]
        return Verdict(
            ok, str(run.rows[0]["image_uri"] if run.rows else run.error), 1 - len(run.rows), run.texts(), [run.output]
        )

    yield "http: user:password@ URL", userinfo


def output_cases(env: Env) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    from airflow_provider_tencent_ocr.operators.singapore_id_card import OutputPathRefused

    def setup() -> tuple[Path, Path]:
        folder = env.folder()
        return folder, write(folder / "m.csv", f"image_uri\n{env.image(folder)}\n")

    def same_as_manifest(link: bool) -> Verdict:
        folder, manifest = setup()
        before = manifest.read_bytes()
        output = manifest
        if link:
            output = folder / "link.csv"
            output.symlink_to(manifest)
        verdict = expect_refused(
            env, folder, OutputPathRefused, "manifest itself", manifest=str(manifest), output=str(output)
        )
        verdict.ok = verdict.ok and manifest.read_bytes() == before
        return verdict

    yield "output: equal to the manifest", lambda: same_as_manifest(False)
    yield "output: a symlink to the manifest", lambda: same_as_manifest(True)

    def cache_is(target: str) -> Verdict:
        folder, manifest = setup()
        output = folder / "out.parquet"
        cache = str(output) if target == "output" else str(manifest)
        verdict = expect_refused(
            env, folder, OutputPathRefused, "cache", manifest=str(manifest), output=str(output), cache=cache
        )
        verdict.ok = verdict.ok and not list(folder.glob("*-wal")) and not list(folder.glob("*-shm"))
        return verdict

    yield "output: cache equal to the output", lambda: cache_is("output")
    yield "output: cache equal to the manifest", lambda: cache_is("manifest")

    def blocked() -> Verdict:
        folder, manifest = setup()
        write(folder / "file", "")
        run = run_operator(env, folder, manifest=str(manifest), output=str(folder / "file" / "sub" / "o.parquet"))
        ok = isinstance(run.error, OSError) and not _fail_fast(run.error)
        return Verdict(ok, f"{type(run.error).__name__} (retryable)", texts=run.texts())

    yield "output: folder blocked by a file (stays retryable)", blocked

    def nested() -> Verdict:
        folder, manifest = setup()
        return expect_rows(
            env, folder, 1, {}, manifest=str(manifest), output=str(folder / "a" / "b" / "c" / "o.parquet")
        )

    yield "output: in new nested folders", nested

    def rerun() -> Verdict:
        folder, manifest = setup()
        first = expect_rows(env, folder, 1, {}, manifest=str(manifest))
        second = expect_rows(env, folder, 1, {}, manifest=str(manifest))
        return Verdict(
            first.ok and second.ok, second.detail, first.rows_lost + second.rows_lost, first.texts + second.texts
        )

    yield "output: re-run replaces the file", rerun


def fault_cases(env: Env) -> Iterator[tuple[str, Callable[[], Verdict]]]:
    from airflow_provider_tencent_ocr.run.runner import ErrorRateExceeded, RunAborted
    from tencent_ocr_emulator.server import Faults

    def table_error(code: str) -> tuple[Path, str]:
        folder = env.folder()
        data = make_png(6, 6, seed=hash(code) % 1000 + 500)
        digest = env.emulator.recogniser.add(data, {})
        env.emulator.recogniser.table[digest] = {"Error": {"Code": code, "Message": "injected"}}
        return folder, str(write(folder / "e.png", data))

    def fatal() -> Verdict:
        folder, uri = table_error("FailedOperation.UnOpenError")
        run = run_operator(env, folder, images=[uri])
        ok = isinstance(_cause(run.error), RunAborted) and _fail_fast(run.error)
        return Verdict(ok, f"{type(run.error).__name__}", texts=run.texts())

    def per_image() -> Verdict:
        folder, uri = table_error("FailedOperation.ImageNoIdCard")
        return expect_rows(env, folder, 1, {"FailedOperation.ImageNoIdCard": 1}, images=[uri])

    yield "fault: fatal API code (RunAborted, no retry)", fatal
    yield "fault: per-image API code", per_image

    def with_faults(faults: Any, rows: int = 12) -> Callable[[], Verdict]:
        def fn() -> Verdict:
            folder = env.folder()
            images = [env.image(folder, seed=100 + i) for i in range(rows)]
            env.emulator.faults = faults
            try:
                return expect_rows(env, folder, rows, {}, images=images, max_attempts=8)
            finally:
                env.emulator.faults = Faults()

        return fn

    yield "fault: 30% throttled", with_faults(Faults(throttle=0.3))
    yield "fault: 30% HTTP 5xx", with_faults(Faults(http_5xx=0.3))
    yield "fault: 30% InternalError", with_faults(Faults(internal_error=0.3))
    yield "fault: 20% dropped connections", with_faults(Faults(drop=0.2))

    def missing_connection() -> Verdict:
        folder = env.folder()
        run = run_operator(env, folder, images=[env.image(folder)], tencentcloud_conn_id="no_such_conn")
        return Verdict(_fail_fast(run.error) and run.requests == 0, f"{type(run.error).__name__}", texts=run.texts())

    yield "fault: missing connection (no retry)", missing_connection

    def wrong_key() -> Verdict:
        folder = env.folder()
        conn = json.loads(env.emulator.connection_json())
        conn["password"] = "hunter2-wrong-key"
        os.environ["AIRFLOW_CONN_WRONG_KEY"] = json.dumps(conn)
        try:
            run = run_operator(env, folder, images=[env.image(folder)], tencentcloud_conn_id="wrong_key")
        finally:
            os.environ.pop("AIRFLOW_CONN_WRONG_KEY", None)
        ok = isinstance(_cause(run.error), RunAborted) and _fail_fast(run.error)
        return Verdict(ok, f"{type(run.error).__name__}: {str(run.error)[:100]}", texts=run.texts())

    yield "fault: wrong SecretKey (AuthFailure, no retry)", wrong_key

    def error_rate() -> Verdict:
        folder = env.folder()
        run = run_operator(env, folder, images=[env.image(folder), str(folder / "no.png")], max_error_rate=0.1)
        rows = pq.read_table(run.output).num_rows if run.output.exists() else 0
        ok = isinstance(run.error, ErrorRateExceeded) and not _fail_fast(run.error) and rows == 2
        return Verdict(ok, f"{type(run.error).__name__}, {rows} rows written", 2 - rows, run.texts())

    yield "fault: error rate exceeded (output written, retryable)", error_rate

    def hash_without_key() -> Verdict:
        folder = env.folder()
        os.environ.pop("AIRFLOW_VAR_NO_SUCH_KEY", None)
        run = run_operator(env, folder, images=[env.image(folder)], pii="hash", pii_key_variable="no_such_key")
        return Verdict(_fail_fast(run.error) and run.requests == 0, f"{type(run.error).__name__}", texts=run.texts())

    yield "fault: pii='hash' without its key (no retry)", hash_without_key

    def secret_key_in_logs() -> Verdict:
        folder = env.folder()
        run = run_operator(env, folder, images=[env.image(folder)])
        key = env.emulator.secret_key
        texts = run.texts()
        return Verdict(run.error is None and not any(key in t for t in texts), "SecretKey not in XCom", texts=texts)

    yield "leak: SecretKey never in XCom or messages", secret_key_in_logs


# --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run only cases whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print every case, not only failures")
    args = parser.parse_args(argv)

    from tencent_ocr_emulator.server import EmulatorServer

    root = Path(tempfile.mkdtemp(prefix="tencent-ocr-adversarial-"))
    server = _Server(("127.0.0.1", 0), _Faulty)
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        with EmulatorServer(rate_limit=1000) as emulator:
            SECRETS.append(emulator.secret_key)
            os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = emulator.connection_json()
            server_thread.start()
            env = Env(root, emulator, f"http://127.0.0.1:{server.server_address[1]}", _Faulty.counter)
            _Faulty.png = env.png
            groups = [
                ("manifest", manifest_cases),
                ("image", image_cases),
                ("http", http_cases),
                ("output", output_cases),
                ("fault", fault_cases),
            ]
            for group, build in groups:
                for name, fn in build(env):
                    if args.only and args.only not in name:
                        continue
                    outcome = run_case(name, group, fn)
                    outcomes.append(outcome)
                    bad = not outcome.ok or outcome.hang or outcome.rows_lost or outcome.leaks
                    if bad or args.verbose:
                        flag = "ok  " if not bad else "FAIL"
                        leaks = f" LEAKS {outcome.leaks}" if outcome.leaks else ""
                        print(f"{flag} [{group}] {name}: {outcome.detail}{leaks}", flush=True)
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(root, ignore_errors=True)
        os.environ.pop("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", None)
    by_group = collections.Counter(o.group for o in outcomes)
    totals = {
        "cases": len(outcomes),
        "by_group": dict(by_group),
        "passed": sum(o.ok and not o.hang and not o.rows_lost and not o.leaks for o in outcomes),
        "rows_lost": sum(o.rows_lost for o in outcomes),
        "hangs": sum(o.hang for o in outcomes),
        "leaks": sum(len(o.leaks) for o in outcomes),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(totals))
    clean = totals["passed"] == totals["cases"] and not (totals["rows_lost"] or totals["hangs"] or totals["leaks"])
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
