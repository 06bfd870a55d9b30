"""Adversarial image URIs (issue 10): FIFOs, devices, NUL bytes, slow-drip servers, missing s3fs."""

from __future__ import annotations

import http.server
import os
import sys
import threading
import time

import pytest
from helpers import in_thread, make_png

from airflow_provider_tencent_ocr.io.images import ImageDownloadError, load_image
from airflow_provider_tencent_ocr.io.manifest import ManifestError, open_manifest

PNG = make_png(4, 4, seed=3)


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
    (tmp_path / "card.png").write_bytes(PNG)
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


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


@pytest.fixture
def drip_url():
    server = _QuietServer(("127.0.0.1", 0), _Drip)
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
