"""The timeout bounds the whole exchange, headers included, for API calls and for image downloads.

Servers on loopback send their status line and headers one byte every half second: each read
returns well within any per-read timeout, so before this only the task's own kill ended the call.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from helpers import in_thread
from hostile_http import hostile_server, trickle

from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io.images import ImageDownloadError, load_image


def test_an_api_trickling_its_headers_times_out_at_the_timeout(monkeypatch):
    with hostile_server(trickle) as server:
        monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection())
        hook = TencentOcrHook(timeout=2)
        started = time.monotonic()
        with pytest.raises(TencentCloudAPIError) as raised:
            in_thread(lambda: hook.recognize_singapore_id_card(image_url="https://example.invalid/a.png"), 30)
        elapsed = time.monotonic() - started
    assert raised.value.code == "ClientNetworkError" and raised.value.timeout == "read"
    assert raised.value.may_have_been_billed  # the request was sent: it may have been recognised
    assert elapsed < 2 + 3  # the deadline, not the trickle (which would go on for 100,000 bytes)


def test_after_a_cut_exchange_the_next_call_works(monkeypatch, tencent_ocr_emulator):
    """The watchdog only cuts its own exchange: a kept-alive connection reused later is not harmed."""
    monkeypatch.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", tencent_ocr_emulator.connection_json())
    hook = TencentOcrHook(timeout=1)
    import base64

    from helpers import make_png

    image = base64.b64encode(make_png(5, 5, seed=3)).decode()
    for _ in range(3):  # each well inside its deadline; then wait past it with the connection idle
        assert hook.recognize_singapore_id_card(image_base64=image).request_id
        time.sleep(1.2)


class _TrickleImage(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def do_GET(self) -> None:  # noqa: N802
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Pad: " + b"a" * 100_000
        try:
            for byte in head:
                if self.stop.wait(0.5):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def trickling_image_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TrickleImage)
    server.daemon_threads = True
    _TrickleImage.stop.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/card.png"
    finally:
        _TrickleImage.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_image_server_trickling_its_headers_is_cut_at_the_download_deadline():
    with trickling_image_server() as url:
        started = time.monotonic()
        with pytest.raises(ImageDownloadError) as raised:
            in_thread(lambda: load_image(url, timeout=1.5, deadline=2.5), 30)
        elapsed = time.monotonic() - started
    assert raised.value.code == "ImageDownloadFailed" and raised.value.retryable
    assert "took longer than 2.5 s to download (headers included)" in raised.value.message
    assert elapsed < 2.5 + 3
