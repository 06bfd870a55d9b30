"""``cos://<bucket-appid>/<key>``: Tencent COS as an Airflow object-storage scheme.

Airflow's providers manager imports this module for its ``schemes`` and ``get_fs`` (declared under
``filesystems`` in ``get_provider_info``), so ``ObjectStoragePath("cos://...", conn_id=...)`` works
in any DAG; fsspec finds the same filesystem through the ``fsspec.specs`` entry point. Nothing heavy
is imported here (s3fs only when a filesystem is built): a missing s3fs must not break the other
schemes Airflow registers in the same pass.

COS speaks the S3 API at ``https://cos.<region>.myqcloud.com``; the credentials are the
``tencentcloud`` connection's SecretId/SecretKey (and STS token), so one connection serves OCR and
storage. The extra ``cos_endpoint`` overrides the endpoint (a private endpoint, or a local S3 server).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_tencent_ocr.io.uris import scheme

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

schemes = ["cos"]

DEFAULT_CONN_ID = "tencentcloud_default"
ENDPOINT_EXTRA = "cos_endpoint"


@dataclass(frozen=True)
class CosSettings:
    """What a COS client needs; ``repr`` never shows the SecretKey or the token."""

    secret_id: str
    secret_key: str
    token: str | None
    region: str
    endpoint: str

    def __repr__(self) -> str:
        return f"CosSettings(secret_id={self.secret_id!r}, region={self.region!r}, endpoint={self.endpoint!r})"


def default_endpoint(region: str) -> str:
    """COS's S3-compatible endpoint for a region."""
    return f"https://cos.{region}.myqcloud.com"


def cos_settings(conn_id: str | None) -> CosSettings:
    """Credentials and endpoint from a ``tencentcloud`` connection (``tencentcloud_default`` when None).

    The OCR hook's own reading of the connection is reused, so the environment fallback
    (``TENCENTCLOUD_SECRET_ID`` ...) and the masking of the SecretKey and token are the same.
    """
    from airflow_provider_tencent_ocr.hooks.tencentcloud import TencentCloudHook

    conn_id = conn_id or DEFAULT_CONN_ID
    hook = TencentCloudHook(conn_id, service="cos", api_version="2018-11-26")
    config = hook.config
    try:
        extra = hook.get_connection(conn_id).extra_dejson
    except Exception:  # only the TENCENTCLOUD_* variables: no extras to read
        extra = {}
    endpoint = str(extra.get(ENDPOINT_EXTRA) or "").strip().rstrip("/") or default_endpoint(config.region)
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    return CosSettings(config.secret_id, config.secret_key, config.token, config.region, endpoint)


def client_config() -> dict[str, Any]:
    """botocore ``Config`` arguments COS needs.

    Virtual-host addressing: buckets created since 2024 refuse path-style requests (403
    ``PathStyleDomainForbidden``). Checksums only when an operation requires them: botocore >= 1.36
    adds CRC checksums by default, which COS rejects on multipart uploads (objects over 8 MB). Older
    botocore neither sends them nor knows the settings, so they are only given when it does.
    """
    from botocore.config import Config

    config: dict[str, Any] = {"s3": {"addressing_style": "virtual"}}
    if "request_checksum_calculation" in Config.OPTION_DEFAULTS:
        config["request_checksum_calculation"] = "when_required"
        config["response_checksum_validation"] = "when_required"
    return config


def get_fs(conn_id: str | None, storage_options: dict[str, Any] | None = None) -> AbstractFileSystem:
    """Airflow's hook for the ``cos`` scheme: an s3fs filesystem on COS with the connection's credentials."""
    try:
        from airflow_provider_tencent_ocr.io.cos_filesystem import CosFileSystem
    except ImportError as err:
        raise ImportError("cos:// needs s3fs: install airflow-provider-tencent-ocr[cos] (or pip install s3fs)") from err
    return CosFileSystem(conn_id=conn_id or DEFAULT_CONN_ID, **(storage_options or {}))


def default_storage_conn_id(
    storage_conn_id: str | None, ocr_conn_id: str, locations: Iterable[str | None]
) -> str | None:
    """``storage_conn_id``, or the OCR connection when any location is on ``cos://`` and none is given.

    One ``tencentcloud`` connection then serves both the API and the bucket.
    """
    if storage_conn_id:
        return storage_conn_id
    if any(location and scheme(location) == "cos" for location in locations):
        return ocr_conn_id
    return None
