"""CosFileSystem: s3fs pointed at Tencent COS, configured the way COS needs (see ``cos_fs``).

A separate module because it imports s3fs at the top: fsspec's ``cos`` entry point and ``get_fs``
import it only when a ``cos://`` location is used.
"""

from __future__ import annotations

from typing import Any

from s3fs import S3FileSystem

from airflow_provider_tencent_ocr.io.cos_fs import DEFAULT_CONN_ID, client_config, cos_settings


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, one level deep (so ``{"s3": {...}}`` adds to the S3 settings)."""
    merged = dict(base)
    for name, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


class CosFileSystem(S3FileSystem):
    """``cos://<bucket-appid>/<key>`` over COS's S3 API, credentials from a ``tencentcloud`` connection.

    :param conn_id: the connection (``tencentcloud_default`` by default); its ``cos_endpoint`` extra
        overrides ``https://cos.<region>.myqcloud.com``.
    Other arguments are s3fs's; explicit ``key``/``secret``/``endpoint_url`` win over the connection,
    and ``config_kwargs`` add to (or override) the COS settings.
    """

    protocol = ("cos",)

    def __init__(self, *args: Any, conn_id: str | None = None, **kwargs: Any) -> None:
        if not kwargs.get("anon") and not kwargs.get("key"):
            settings = cos_settings(conn_id or DEFAULT_CONN_ID)
            kwargs.update(key=settings.secret_id, secret=settings.secret_key, token=settings.token)
            kwargs.setdefault("endpoint_url", settings.endpoint)
            client_kwargs = dict(kwargs.get("client_kwargs") or {})
            client_kwargs.setdefault("region_name", settings.region)
            kwargs["client_kwargs"] = client_kwargs
        kwargs["config_kwargs"] = _merged(client_config(), dict(kwargs.get("config_kwargs") or {}))
        self.conn_id = conn_id
        super().__init__(*args, **kwargs)
