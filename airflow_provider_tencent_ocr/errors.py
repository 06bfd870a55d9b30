"""Deprecated alias of :mod:`airflow_provider_tencent_ocr.exceptions` (the 0.1 name); removed in 1.0.0."""

from __future__ import annotations

import warnings

from airflow_provider_tencent_ocr.exceptions import (
    ConnectionConfigError,
    ErrorKind,
    InvalidImageError,
    TencentCloudAPIError,
    TencentOcrError,
    classify,
)

__all__ = [
    "ConnectionConfigError",
    "ErrorKind",
    "InvalidImageError",
    "TencentCloudAPIError",
    "TencentOcrError",
    "classify",
]

warnings.warn(
    "airflow_provider_tencent_ocr.errors is deprecated and goes in 1.0.0: "
    "import from airflow_provider_tencent_ocr.exceptions",
    DeprecationWarning,
    stacklevel=2,
)
