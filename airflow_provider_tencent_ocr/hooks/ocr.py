"""TencentOcrHook: one typed method per OCR action, with inputs checked before anything is billed."""

from __future__ import annotations

import base64
import binascii

from airflow_provider_tencent_ocr.actions import singapore_id_card as sg
from airflow_provider_tencent_ocr.actions.registry import require_action
from airflow_provider_tencent_ocr.actions.result import DocumentResult
from airflow_provider_tencent_ocr.exceptions import InvalidImageError
from airflow_provider_tencent_ocr.hooks.tencentcloud import TencentCloudHook
from airflow_provider_tencent_ocr.io.images import CheckedBase64, check_image_bytes, sniff_format


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

    def recognize(
        self,
        action: str,
        *,
        image_base64: str | None = None,
        image_url: str | None = None,
        return_head_image: bool = False,
    ) -> DocumentResult:
        """Run any ID-document ``action`` (see ``actions.registry.ACTIONS``) on one image.

        Raises :class:`UnsupportedActionError` for an action the provider does not serve;
        :class:`InvalidImageError` (nothing sent) for a missing image, Base64 over the action's
        limit or not PNG/JPEG/BMP, and ``ImageUrlNotSupported`` for ``image_url`` with an action
        that takes no URL outside the Chinese mainland (send the bytes instead); and
        :class:`TencentCloudAPIError` as :meth:`recognize_singapore_id_card` does.
        """
        spec = require_action(action)
        if not image_base64 and not image_url:
            raise InvalidImageError("MissingImage", "give image_base64 or image_url")
        if image_base64 and image_url:
            raise InvalidImageError("TwoImages", "give image_base64 or image_url, not both")
        if isinstance(image_base64, bytes | bytearray):
            raise InvalidImageError(
                "InvalidBase64", "image_base64 must be Base64 text, not bytes: pass base64.b64encode(data).decode()"
            )
        if image_url and not spec.accepts_image_url(self.config.region):
            raise InvalidImageError(
                "ImageUrlNotSupported",
                f"{spec.name} does not accept ImageUrl outside the Chinese mainland (region "
                f"{self.config.region!r}): send the image bytes as image_base64 instead",
            )
        if image_base64 and not image_url:
            image_format = _check_base64(image_base64, spec.max_image_base64_bytes)
            if image_format not in spec.image_formats:
                raise InvalidImageError(
                    "UnsupportedImageFormat",
                    f"{spec.name} takes {' or '.join(sorted(spec.image_formats))} images; this one is "
                    f"{image_format}: convert it",
                )
        params = spec.build_request(image_base64=image_base64, image_url=image_url, return_head_image=return_head_image)
        limit = spec.max_response_bytes(return_head_image=return_head_image)
        return DocumentResult.from_response(spec, self.call(spec.name, params, max_response_bytes=limit))


def _check_base64(image_base64: str, limit: int = sg.MAX_IMAGE_BASE64_BYTES) -> str:
    """The image's format; raises :class:`InvalidImageError` for text over ``limit``, bad Base64 or a non-image."""
    if len(image_base64) > limit:
        raise InvalidImageError(
            "ImageTooLarge",
            f"image_base64 is {len(image_base64)} characters; the API accepts at most "
            f"{limit}: downscale or recompress the image",
        )
    if isinstance(image_base64, CheckedBase64):  # checked when read: only its format (first bytes) is needed
        return sniff_format(base64.b64decode(image_base64[:16])) or "unknown"
    try:
        data = base64.b64decode(image_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImageError("InvalidBase64", "image_base64 is not valid Base64 text") from None
    return check_image_bytes(data)
