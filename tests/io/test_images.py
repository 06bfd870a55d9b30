"""load_image against real files, a real local HTTP server and fsspec's memory filesystem; and adversarial URIs."""

from __future__ import annotations

import http.server
import os
import socket
import sys
import threading
import time
import uuid

import pytest
from helpers import in_thread, make_png

from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.io.images import (
    MAX_IMAGE_BYTES,
    ImageDownloadError,
    check_image_bytes,
    display_uri,
    is_http_url,
    load_image,
)
from airflow_provider_tencent_ocr.io.manifest import ManifestError, open_manifest

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/card.png":
            self._send(200, PNG)
        elif path == "/slow.png":
            time.sleep(1.0)
            self._send(200, PNG)
        elif path == "/unavailable.png":
            self._send(503, b"busy")
        elif path == "/huge.png":
            self.send_response(200)
            self.send_header("Content-Length", str(MAX_IMAGE_BYTES + 10))
            self.end_headers()
        elif path == "/huge-chunked.png":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"\0" * 65536
            for _ in range(MAX_IMAGE_BYTES // len(block) + 2):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/drop.png":
            # Close the socket without any answer: a dropped connection.
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            self.close_connection = True
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients hang up early on purpose
        pass


@pytest.fixture(scope="module")
def http_base():
    server = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def memory_fs():
    from airflow.sdk.io import attach
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    attach("memory", fs=fs)
    return fs


# --------------------------------------------------------------------------------------------------
# Local files


def test_local_path_and_file_uri(tmp_path):
    folder = tmp_path / "a folder"
    folder.mkdir()
    image = folder / "card 1.png"
    image.write_bytes(PNG)
    assert load_image(str(image)) == PNG
    assert load_image(image.as_uri()) == PNG  # percent-encoded space
    assert check_image_bytes(load_image(str(image))) == "PNG"


def test_missing_local_file_is_image_not_found(tmp_path):
    missing = tmp_path / "missing.png"
    for uri in (str(missing), missing.as_uri()):
        with pytest.raises(InvalidImageError) as info:
            load_image(uri)
        assert info.value.code == "ImageNotFound"
        assert "missing.png" in info.value.message and "check the path" in info.value.message
    with pytest.raises(InvalidImageError) as info:
        load_image(str(tmp_path))
    assert info.value.code == "ImageNotFound" and "directory" in info.value.message


@pytest.mark.parametrize("uri", ["", "   "])
def test_empty_uri(uri):
    with pytest.raises(InvalidImageError) as info:
        load_image(uri)
    assert info.value.code == "ImageNotFound"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_local_file_is_download_failed(tmp_path):
    image = tmp_path / "locked.png"
    image.write_bytes(PNG)
    image.chmod(0)
    with pytest.raises(InvalidImageError) as info:
        load_image(str(image))
    assert info.value.code == "ImageDownloadFailed" and "permission" in info.value.message


def test_oversized_local_file_stops_reading(tmp_path):
    image = tmp_path / "big.png"
    image.write_bytes(PNG + b"\0" * MAX_IMAGE_BYTES)
    with pytest.raises(InvalidImageError) as info:
        load_image(str(image))
    assert info.value.code == "ImageTooLarge"
    exact = tmp_path / "exact.png"
    exact.write_bytes(PNG + b"\0" * (MAX_IMAGE_BYTES - len(PNG)))
    check_image_bytes(load_image(str(exact)))  # the largest image the API accepts goes through


# --------------------------------------------------------------------------------------------------
# HTTP


def test_http_download(http_base):
    assert load_image(f"{http_base}/card.png") == PNG
    assert load_image(f"{http_base}/card.png?X-Amz-Signature=secret") == PNG


def test_http_404_is_download_failed_with_status(http_base):
    with pytest.raises(ImageDownloadError) as info:
        load_image(f"{http_base}/gone.png")
    err = info.value
    assert isinstance(err, InvalidImageError)
    assert err.code == "ImageDownloadFailed" and err.http_status == 404 and not err.retryable
    assert f"{http_base}/gone.png" in err.message and "HTTP 404" in err.message


def test_http_5xx_is_retryable(http_base):
    with pytest.raises(ImageDownloadError) as info:
        load_image(f"{http_base}/unavailable.png")
    assert info.value.code == "ImageDownloadFailed"
    assert info.value.http_status == 503 and info.value.retryable


def test_http_dropped_connection(http_base):
    with pytest.raises(ImageDownloadError) as info:
        load_image(f"{http_base}/drop.png")
    assert info.value.code == "ImageDownloadFailed" and info.value.retryable
    assert "drop.png" in info.value.message
    # The thread's session survives the broken connection.
    assert load_image(f"{http_base}/card.png") == PNG


def test_http_timeout(http_base):
    with pytest.raises(ImageDownloadError) as info:
        load_image(f"{http_base}/slow.png", timeout=0.2)
    assert info.value.code == "ImageDownloadFailed" and "timed out" in info.value.message
    assert info.value.retryable


def test_http_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ImageDownloadError) as info:
        load_image(f"http://127.0.0.1:{port}/card.png", timeout=2)
    assert info.value.code == "ImageDownloadFailed"


def test_http_too_large_by_header_and_by_stream(http_base):
    for name in ("huge.png", "huge-chunked.png"):
        with pytest.raises(InvalidImageError) as info:
            load_image(f"{http_base}/{name}")
        assert info.value.code == "ImageTooLarge", name


def test_presigned_query_and_credentials_never_reach_messages(http_base):
    uri = f"http://user:pw@127.0.0.1:{http_base.rsplit(':', 1)[1]}/gone.png?X-Amz-Signature=s3cr3t"
    with pytest.raises(ImageDownloadError) as info:
        load_image(uri)
    assert "s3cr3t" not in str(info.value) and "pw" not in str(info.value)
    assert "/gone.png?…" in info.value.message
    assert display_uri("https://h/p.png") == "https://h/p.png"
    assert display_uri("/local/p.png") == "/local/p.png"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("http://x/a.png", True),
        ("HTTPS://x/a.png", True),
        ("s3://b/a.png", False),
        ("file:///a.png", False),
        ("/http/a.png", False),
        ("httpx://a", False),
        ("", False),
    ],
)
def test_is_http_url(uri, expected):
    assert is_http_url(uri) is expected


# --------------------------------------------------------------------------------------------------
# Object storage


def test_object_storage(memory_fs):
    bucket = f"memory://images-{uuid.uuid4().hex}"
    memory_fs.pipe(f"{bucket}/cards/1.png", PNG)
    assert load_image(f"{bucket}/cards/1.png") == PNG
    with pytest.raises(InvalidImageError) as info:
        load_image(f"{bucket}/cards/2.png")
    assert info.value.code == "ImageNotFound" and "cards/2.png" in info.value.message


def test_unknown_scheme_is_download_failed():
    with pytest.raises(InvalidImageError) as info:
        load_image("nosuchscheme://bucket/1.png")
    assert info.value.code == "ImageDownloadFailed"
    assert "nosuchscheme://bucket/1.png" in info.value.message


# -- adversarial image URIs ------------------------------------------------------------------------
# Adversarial image URIs (issue 10): FIFOs, devices, NUL bytes, slow-drip servers, missing s3fs.

SMALL_PNG = make_png(4, 4, seed=3)


def test_a_fifo_image_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "card.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageDownloadError) as info:
        in_thread(lambda: load_image(str(fifo)))
    assert info.value.code == "ImageNotFound"
    assert "named pipe (FIFO), not a regular file" in info.value.message


def test_a_fifo_behind_a_file_uri_is_refused(tmp_path):
    fifo = tmp_path / "card.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageDownloadError, match="FIFO"):
        in_thread(lambda: load_image(f"file://{fifo}"))


def test_a_character_device_still_reads_up_to_the_cap():
    # /dev/zero never ends: the read stops one byte past the limit, as before.
    with pytest.raises(ImageDownloadError) as info:
        in_thread(lambda: load_image("/dev/zero"))
    assert info.value.code == "ImageTooLarge"


def test_a_nul_byte_in_a_uri_is_an_invalid_manifest_row(tmp_path):
    (tmp_path / "card.png").write_bytes(SMALL_PNG)
    for uri in (f"{tmp_path}/card.png\x00.jpg", "file:///tmp/a\x00b.png", "http://127.0.0.1:9/a\x00.png"):
        with pytest.raises(ImageDownloadError) as info:
            load_image(uri)
        assert info.value.code == "InvalidManifestRow"


class _Drip(http.server.BaseHTTPRequestHandler):
    """Sends a valid header, then one byte of body every 0.2 s: every read succeeds, none ends it."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100000):
                self.wfile.write(b"\x89")
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the client gave up: that is the point
            pass


class _QuietDripServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def drip_url():
    server = _QuietDripServer(("127.0.0.1", 0), _Drip)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/card.png"
    finally:
        server.shutdown()
        server.server_close()


def test_a_slow_drip_server_hits_the_total_deadline(drip_url):
    # Each byte arrives well within the 1 s read timeout; only a total deadline stops the download.
    with pytest.raises(ImageDownloadError) as info:
        in_thread(lambda: load_image(drip_url, timeout=1.0, deadline=1.5), seconds=30)
    assert info.value.code == "ImageDownloadFailed" and info.value.retryable
    assert "took longer than 1.5 s" in info.value.message


def test_the_default_deadline_is_twice_the_read_timeout(drip_url):
    with pytest.raises(ImageDownloadError, match="took longer than 2 s"):
        in_thread(lambda: load_image(drip_url, timeout=1.0), seconds=30)


def test_missing_s3fs_names_the_package_to_install(monkeypatch):
    import importlib

    registry = importlib.import_module("fsspec.registry")._registry  # filesystems already imported
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if s3fs were not installed
    monkeypatch.delitem(registry, "s3", raising=False)
    with pytest.raises(ImageDownloadError) as info:
        load_image("s3://kyc/images/card.png")
    assert "apache-airflow-providers-amazon[s3fs]" in info.value.message
    assert "permissions" not in info.value.message
    with pytest.raises(ManifestError) as manifest_info:
        open_manifest("s3://kyc/manifest.csv")
    assert "apache-airflow-providers-amazon[s3fs]" in str(manifest_info.value)
    assert "permissions" not in str(manifest_info.value)
