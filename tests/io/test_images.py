"""load_image against real files, a real local HTTP server, and fsspec's memory filesystem."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
import uuid

import pytest

from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.io.images import (
    MAX_IMAGE_BYTES,
    ImageDownloadError,
    check_image_bytes,
    display_uri,
    is_http_url,
    load_image,
)

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
