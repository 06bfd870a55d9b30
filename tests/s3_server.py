"""A real S3 API on loopback for tests: moto's server, a bucket, and an ``aws`` Airflow connection to it.

Object storage is exercised through the same path as in production (``ObjectStoragePath`` -> the
Amazon provider -> s3fs -> HTTP), only the endpoint is local. Always stopped, also on failure.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


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


@dataclass(frozen=True)
class SentRequest:
    """One request as it went over the wire: its request line's method and target, and its headers."""

    method: str
    target: str  # origin-form (``/key``) or, sent to a proxy, absolute-form (``http://host/key``)
    headers: dict[str, str]

    @property
    def host(self) -> str:
        return self.headers.get("Host", "").split(":")[0]

    @property
    def path(self) -> str:
        return urlsplit(self.target).path


@dataclass
class RecordingProxy:
    endpoint: str
    requests: list[SentRequest] = field(default_factory=list)


@contextmanager
def recording_proxy(upstream: str) -> Iterator[RecordingProxy]:
    """A loopback HTTP relay to ``upstream`` (moto) that records every request it passes on.

    Usable as the endpoint or as an HTTP proxy (the request line is passed on as received, so an
    absolute-form target and its ``Host`` reach moto unchanged). It observes what really left the
    client, whichever client object s3fs ended up using (s3fs < 2026.9 replaces its aiobotocore
    client on the first call, dropping event handlers registered on ``fs.s3`` before it).
    """
    up = urlsplit(upstream)
    proxy = RecordingProxy(endpoint="")

    class Relay(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            headers = {name: value for name, value in self.headers.items()}
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
                del headers["Transfer-Encoding"]
                headers["Content-Length"] = str(len(body))
            else:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            proxy.requests.append(SentRequest(self.command, self.path, headers))
            conn = http.client.HTTPConnection(up.hostname or "127.0.0.1", up.port, timeout=30)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders(body or None)
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            self.send_response_only(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            length = answer.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _read_chunked(self) -> bytes:
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    proxy.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
