"""An image's bytes are checked once per run, when read: retried calls do not decode and check them again."""

from __future__ import annotations

import json

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.hooks import ocr as ocr_hook
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
from airflow_provider_tencent_ocr.io import images
from airflow_provider_tencent_ocr.io.images import CheckedBase64, encode_checked
from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions
from tencent_ocr_emulator.server import EmulatorServer, Faults

CONN_ID = "tencentcloud_checked_once_test"


class _Sink:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    def write_rows(self, rows: list[dict]) -> None:
        self.rows.extend(rows)


def test_retried_calls_do_not_check_the_image_again(tmp_path, monkeypatch):
    checked: list[int] = []
    real = images.check_image_bytes

    def counting(data: bytes) -> str:
        checked.append(len(data))
        return real(data)

    monkeypatch.setattr(images, "check_image_bytes", counting)  # the run's check (encode_checked)
    monkeypatch.setattr(ocr_hook, "check_image_bytes", counting)  # the hook's check
    paths = []
    for i in range(4):
        path = tmp_path / f"card_{i}.png"
        path.write_bytes(make_png(6, 6, seed=i))
        paths.append(str(path))
    with EmulatorServer(rate_limit=1000, faults=Faults(internal_error=0.5), seed=3) as emulator:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", emulator.connection_json())
        runner = OcrRunner(TencentOcrHook(CONN_ID), RunOptions(max_attempts=20, retry_max_wait=0.01))
        sink = _Sink()
        summary = runner.run(manifest_from_images(paths), sink, output="memory")
    assert summary.ok == 4
    assert sum(row["attempts"] for row in sink.rows) > 4, "the faults must have made some calls retry"
    assert len(checked) == 4  # once per image, not once per attempt


def test_the_hook_still_checks_text_that_was_not_checked(monkeypatch):
    monkeypatch.setenv("TENCENTCLOUD_SECRET_ID", "AKIDx")
    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "k")
    hook = TencentOcrHook()
    with pytest.raises(InvalidImageError) as plain:
        hook.recognize_singapore_id_card(image_base64="aGVsbG8=")  # "hello": not an image, nothing sent
    assert plain.value.code == "UnsupportedImageFormat"
    with pytest.raises(InvalidImageError) as bad:
        encode_checked(b"hello")  # the run's check refuses it before any marker exists
    assert bad.value.code == "UnsupportedImageFormat"
    marked = encode_checked(make_png())
    assert isinstance(marked, CheckedBase64)
    assert json.loads(json.dumps({"ImageBase64": marked}))["ImageBase64"] == marked  # sent as plain text
