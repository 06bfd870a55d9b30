"""Provider metadata read by Airflow's providers manager (no heavy imports here)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """The ``apache_airflow_provider`` entry point: name, hooks, operators, connection form."""
    from airflow_provider_tencent_ocr import __version__

    return {
        "package-name": "airflow-provider-tencent-ocr",
        "name": "Tencent Cloud OCR",
        "description": "Tencent Cloud OCR (Southeast Asian ID documents) for Apache Airflow: manifest in, Parquet out.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Tencent Cloud OCR",
                "external-doc-url": "https://www.tencentcloud.com/document/product/1005",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Tencent Cloud OCR",
                "python-modules": [
                    "airflow_provider_tencent_ocr.hooks.tencentcloud",
                    "airflow_provider_tencent_ocr.hooks.ocr",
                ],
            }
        ],
        "operators": [
            {
                "integration-name": "Tencent Cloud OCR",
                "python-modules": ["airflow_provider_tencent_ocr.operators.singapore_id_card"],
            }
        ],
        # cos://<bucket-appid>/<key> for ObjectStoragePath, served with the tencentcloud connection.
        "filesystems": ["airflow_provider_tencent_ocr.io.cos_fs"],
        "connection-types": [
            {
                "connection-type": "tencentcloud",
                "hook-class-name": "airflow_provider_tencent_ocr.hooks.ocr.TencentOcrHook",
                "hook-name": "Tencent Cloud",
                "conn-fields": {
                    "region": {
                        "label": "Region",
                        "schema": {"type": ["string", "null"], "default": "ap-singapore"},
                        "description": "The OCR actions are served in ap-singapore; also the COS region.",
                    },
                    "token": {
                        "label": "STS session token",
                        "schema": {"type": ["string", "null"], "format": "password"},
                        "description": "Only for temporary credentials.",
                    },
                    "cos_endpoint": {
                        "label": "COS endpoint",
                        "schema": {"type": ["string", "null"]},
                        "description": "For cos:// storage; default https://cos.<region>.myqcloud.com.",
                    },
                    "language": {
                        "label": "Language",
                        "schema": {
                            "type": ["string", "null"],
                            "default": "en-US",
                            "enum": ["en-US", "zh-CN"],
                        },
                    },
                    "timeout": {
                        "label": "Timeout (seconds)",
                        "schema": {"type": ["integer", "null"], "default": 30, "minimum": 1},
                    },
                },
                # The destination lives in the standard host/port/schema fields: the connection list
                # shows it, and Airflow's connection test refuses a changed host or port unless the
                # form carries its own SecretKey. The old ``endpoint`` extra is still read when host
                # is empty. Fill in Port: Airflow 3.3's Test button sends 0 for an empty port and
                # then refuses the test ("host or port differs").
                "ui-field-behaviour": {
                    "hidden-fields": [],
                    "relabeling": {
                        "login": "SecretId",
                        "password": "SecretKey",
                        "schema": "Protocol (https or http)",
                    },
                    "placeholders": {
                        "login": "AKID...",
                        "password": "your SecretKey",
                        "host": "ocr.tencentcloudapi.com (or 127.0.0.1 for the emulator)",
                        "port": "443",
                        "schema": "https",
                    },
                },
            }
        ],
    }
