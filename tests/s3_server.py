"""A real S3 API on loopback for tests: moto's server, a bucket, and an ``aws`` Airflow connection to it.

Object storage is exercised through the same path as in production (``ObjectStoragePath`` -> the
Amazon provider -> s3fs -> HTTP), only the endpoint is local. Always stopped, also on failure.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    conn_id: str
    env: dict[str, str]

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key.lstrip('/')}"

    def client(self):  # noqa: ANN201 - a boto3 client, for checks the tests make behind the provider's back
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def keys(self, prefix: str = "") -> list[str]:
        return self.keys_in(self.bucket, prefix)

    def keys_in(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", ()))


@contextmanager
def s3_server(bucket: str = "ocr-test") -> Iterator[S3Server]:
    """Start moto on 127.0.0.1 (a free port), create ``bucket``; the connection goes in ``env``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log, one line per S3 call
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        conn = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
        # One connection id per server: Airflow keeps a filesystem per connection for the process's life.
        conn_id = f"ocr_test_s3_{port}"
        env = {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)}
        s3 = S3Server(endpoint=endpoint, bucket=bucket, conn_id=conn_id, env=env)
        s3.client().create_bucket(Bucket=bucket)
        yield s3
    finally:
        server.stop()


COS_BUCKET = "cards-1250000000"  # COS names buckets <name>-<APPID>


def cos_connection(endpoint: str, *, cos_endpoint: str, conn_id: str, **extra: str) -> dict[str, str]:
    """An ``AIRFLOW_CONN_...`` entry for a ``tencentcloud`` connection whose COS is ``cos_endpoint``.

    ``endpoint`` is the OCR API (the emulator); one connection serves both, as in production.
    """
    conn = {
        "conn_type": "tencentcloud",
        "login": "AKIDcosTEST",
        "password": "cos-test-secret",
        "extra": {"endpoint": endpoint, "region": "ap-singapore", "cos_endpoint": cos_endpoint, **extra},
    }
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)}
