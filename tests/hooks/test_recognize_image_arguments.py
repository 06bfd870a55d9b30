"""``recognize`` refuses an image given twice, or as bytes, by name and before anything is sent."""

from __future__ import annotations

import base64

import pytest
from helpers import make_png

from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook


@pytest.mark.parametrize("action", ["RecognizeThaiIDCardOCR", "MLIDCardOCR"])
def test_both_image_base64_and_image_url_are_refused(action, tencent_ocr_emulator, tencent_ocr_conn_id):
    # Was: sent with both parameters (Thai), or refused as "ImageUrlNotSupported" (Malaysia).
    encoded = base64.b64encode(make_png()).decode()
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize(action, image_base64=encoded, image_url="http://127.0.0.1:1/card.png")
    assert err.value.code == "TwoImages" and "not both" in err.value.message
    assert tencent_ocr_emulator.stats.requests == 0


def test_image_base64_given_as_bytes_is_refused_with_the_fix(tencent_ocr_emulator, tencent_ocr_conn_id):
    # Was: TypeError "Object of type bytes is not JSON serializable" from deep in the client.
    with pytest.raises(InvalidImageError) as err:
        TencentOcrHook().recognize("MLIDCardOCR", image_base64=base64.b64encode(make_png()))
    assert err.value.code == "InvalidBase64" and "b64encode(data).decode()" in err.value.message
    assert tencent_ocr_emulator.stats.requests == 0
