"""The real offline engine end to end: generated cards -> emulator (local recogniser) -> hook.

Loads rapidocr's bundled models once for the module (a few seconds on two cores); nothing is
downloaded.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("PIL")

from airflow_provider_tencent_ocr.actions.singapore_id_card import RESPONSE_FIELDS  # noqa: E402
from airflow_provider_tencent_ocr.exceptions import TencentCloudAPIError  # noqa: E402
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook  # noqa: E402
from tencent_ocr_emulator import cards  # noqa: E402
from tencent_ocr_emulator.local_engine import LocalRecogniser  # noqa: E402
from tencent_ocr_emulator.server import EmulatorServer  # noqa: E402

# Slow: loads the offline OCR engine's models (seconds on two cores).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        recogniser=LocalRecogniser(warm=True), rate_limit=1000, queue_timeout=600
    ) as server:  # wait, never time out: accuracy is tested here, not capacity
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("AIRFLOW_CONN_TENCENTCLOUD_DEFAULT", server.connection_json())
            yield server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_generated_cards_are_read_exactly_through_emulator_and_hook(emulator: EmulatorServer, tmp_path: Path) -> None:
    manifest = cards.generate_cards(tmp_path, 4, 31, degraded_fraction=0.0, back_fraction=0.5)
    rows = cards.read_manifest(manifest)
    assert {r["side"] for r in rows} == {"front", "back"}
    hook = TencentOcrHook()

    def read(row: dict[str, str]):
        image = Path(row["image_uri"]).read_bytes()
        return hook.recognize_singapore_id_card(image_base64=b64(image), return_head_image=row["side"] == "front")

    with ThreadPoolExecutor(max_workers=4) as pool:  # concurrent handler threads, no lock in recognise
        results = list(pool.map(read, rows))
    for row, result in zip(rows, results, strict=True):
        got = {column: getattr(result, column) for column in RESPONSE_FIELDS.values()}
        want = {column: row[f"truth_{column}"] for column in RESPONSE_FIELDS.values()}
        assert got == want, row["record_id"]
        assert result.warn_codes == ()
        if row["side"] == "front":
            assert result.photo and result.photo[:2] == b"\xff\xd8"  # the portrait, as JPEG
    assert emulator.stats.billed == len(rows)


def test_blurry_card_warns_and_a_non_card_is_refused(emulator: EmulatorServer) -> None:
    import numpy as np

    blurred = cards.render_card(random.Random(5), np.random.default_rng(5), side="front", degradations=["blur"])
    result = TencentOcrHook().recognize_singapore_id_card(image_base64=b64(blurred.image))
    assert -9108 in result.warn_codes
    assert -9103 not in result.warn_codes and -9104 not in result.warn_codes
    assert result.id_number == blurred.truth["ID"]

    from PIL import Image

    blank = Image.new("RGB", (640, 400), (90, 120, 80))
    buf = __import__("io").BytesIO()
    blank.save(buf, "PNG")
    with pytest.raises(TencentCloudAPIError) as err:
        TencentOcrHook().recognize_singapore_id_card(image_base64=b64(buf.getvalue()))
    assert err.value.code == "FailedOperation.ImageNoIdCard"
