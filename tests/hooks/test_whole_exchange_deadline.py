"""The timeout bounds the whole exchange, headers included, for API calls and for image downloads.

Servers on loopback send their status line and headers one byte every half second: each read
returns well within any per-read timeout, so before this only the task's own kill ended the call.
"""

from __future__ import annotations

import time

import pytest
from helpers import in_thread
from hostile_http import hostile_server, trickle, trickling_image_server

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


def test_an_image_server_trickling_its_headers_is_cut_at_the_download_deadline():
    with trickling_image_server() as url:
        started = time.monotonic()
        with pytest.raises(ImageDownloadError) as raised:
            in_thread(lambda: load_image(url, timeout=1.5, deadline=2.5), 30)
        elapsed = time.monotonic() - started
    assert raised.value.code == "ImageDownloadFailed" and raised.value.retryable
    assert "took longer than 2.5 s to download (headers included)" in raised.value.message
    assert elapsed < 2.5 + 3
