"""TencentOcrHook: one typed method per OCR action, with inputs checked before anything is billed."""

from __future__ import annotations

import base64
import binascii

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.hooks.tencentcloud import TencentCloudHook
from airflow_provider_tencent_ocr.io.images import check_image_bytes


class TencentOcrHook(TencentCloudHook):
    """Tencent Cloud OCR over a ``tencentcloud`` connection (service ``ocr``, version 2018-11-19)."""

    hook_name = "Tencent Cloud OCR"
    service = sg.SERVICE
    api_version = sg.VERSION
    # Authenticated, then rejected for the missing image: proves the credentials, bills nothing.
    connection_probe = (sg.ACTION, {})

    def recognize_singapore_id_card(
        self,
        *,
        image_base64: str | None = None,
        image_url: str | None = None,
        return_head_image: bool = False,
    ) -> sg.SingaporeIdCardResult:
        """Run ``RecognizeSingaporeIDCardOCR`` on one image.

        Raises :class:`InvalidImageError` (nothing sent) for a missing image, Base64 over 7 MB or
        not PNG/JPEG/BMP, and :class:`TencentCloudAPIError` for any error the API answers, for a
        network failure (``ClientNetworkError``), and for an answer that is too large
        (``ResponseTooLarge``) or not of the documented shape (``InvalidResponse``).
        """
        if not image_base64 and not image_url:
            raise InvalidImageError("MissingImage", "give image_base64 or image_url")
        if image_base64 and not image_url:
            _check_base64(image_base64)
        params = sg.build_request(image_base64=image_base64, image_url=image_url, return_head_image=return_head_image)
        limit = sg.max_response_bytes(return_head_image=return_head_image)
        return sg.SingaporeIdCardResult.from_response(self.call(sg.ACTION, params, max_response_bytes=limit))


def _check_base64(image_base64: str) -> None:
    if len(image_base64) > sg.MAX_IMAGE_BASE64_BYTES:
        raise InvalidImageError(
            "ImageTooLarge",
            f"image_base64 is {len(image_base64)} characters; the API accepts at most "
            f"{sg.MAX_IMAGE_BASE64_BYTES}: downscale or recompress the image",
        )
    try:
        data = base64.b64decode(image_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImageError("InvalidBase64", "image_base64 is not valid Base64 text") from None
    check_image_bytes(data)
