"""send_as="base64" against send_as="url" for images in an object store (cos://), at the 20/s limit.

200 JPEGs of about 3 MB each go into a loopback S3 server (moto, standing in for COS) as
``cos://<bucket-appid>/...``; the runner recognises them once per mode against the emulator paced at
Singapore's 20 requests per second. Base64: the worker downloads each image and uploads it again,
a third larger. URL: the worker asks for the object's metadata (HEAD), presigns a GET, and the
emulator downloads the image from the store itself.

Reported per mode: the worker's CPU seconds (this process: moto and the emulator run in their own
processes), the bytes it sent and received per image over its sockets (counted at Python's socket
methods, which both ``requests`` and aiohttp/s3fs go through), and throughput as a share of the 20/s
limit.

    python benchmarks/cos_send_as.py [--images 200] [--megabytes 3]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import emulator, stats  # noqa: E402

LIMIT = 20.0  # RecognizeSingaporeIDCardOCR's requests per second
BUCKET = "cards-1250000000"
CONN_ID = "tencentcloud_cos_bench"


def jpeg(seed: int, megabytes: float) -> bytes:
    """A noise JPEG of about ``megabytes`` (noise does not compress: the size is what is moved)."""
    from PIL import Image

    width = int(1240 * megabytes / 3)
    pixels = (seed.to_bytes(8, "big") + os.urandom(width * 1000 * 3))[: width * 1000 * 3]
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, 1000), pixels).save(buffer, "JPEG", quality=95, subsampling=0)
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoProcess:
    """moto's S3 server in its own process (its CPU is not the worker's)."""

    def __enter__(self) -> str:
        port = free_port()
        moto = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).close()
                return self.endpoint
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.__exit__()
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class SocketBytes:
    """Bytes through every ``socket.socket`` of this process (``/proc/self/io`` does not count sockets)."""

    sent = 0
    received = 0

    @classmethod
    def install(cls) -> None:
        def counting(name: str, counter: str, result_is_count: bool) -> None:
            original = getattr(socket.socket, name)

            def method(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
                result = original(self, *args, **kwargs)
                if result_is_count:
                    n = result if isinstance(result, int) else 0
                elif name == "sendall":
                    n = memoryview(args[0]).nbytes
                else:
                    n = len(result)
                setattr(cls, counter, getattr(cls, counter) + n)
                return result

            setattr(socket.socket, name, method)

        counting("send", "sent", True)
        counting("sendall", "sent", False)
        counting("recv", "received", False)
        counting("recv_into", "received", True)

    @classmethod
    def snapshot(cls) -> dict[str, int]:
        return {"sent": cls.sent, "received": cls.received}


def run_mode(send_as: str, uris: list[str]) -> dict[str, Any]:
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.manifest import manifest_from_images
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    class Rows:
        def write_rows(self, rows: list[dict[str, Any]]) -> None:
            self.rows = getattr(self, "rows", []) + rows

    hook = TencentOcrHook(CONN_ID)
    options = RunOptions(send_as=send_as, storage_conn_id=CONN_ID, max_requests_per_second=LIMIT, progress_interval=600)
    sink = Rows()
    before_io, before_cpu, started = SocketBytes.snapshot(), time.process_time(), time.monotonic()
    summary = OcrRunner(hook, options).run(manifest_from_images(uris), sink)  # no cache: every image is called
    seconds, cpu, after_io = time.monotonic() - started, time.process_time() - before_cpu, SocketBytes.snapshot()
    n = len(uris)
    return {
        "send_as": send_as,
        "ok": summary.ok,
        "errors": summary.errors_by_code,
        "api_calls": summary.api_calls,
        "seconds": round(seconds, 2),
        "worker_cpu_seconds": round(cpu, 2),
        "sent_bytes_per_image": round((after_io["sent"] - before_io["sent"]) / n),
        "received_bytes_per_image": round((after_io["received"] - before_io["received"]) / n),
        "images_per_second": round(n / seconds, 2),
        "share_of_limit": round(n / seconds / LIMIT, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--megabytes", type=float, default=3.0)
    args = parser.parse_args()
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="cos-bench-airflow-"))
    SocketBytes.install()

    with MotoProcess() as s3, emulator("--port", "0") as endpoint:
        import boto3

        from tencent_ocr_emulator.server import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY

        conn = {
            "conn_type": "tencentcloud",
            "login": DEFAULT_SECRET_ID,
            "password": DEFAULT_SECRET_KEY,
            "extra": {"endpoint": endpoint, "region": "ap-singapore", "cos_endpoint": s3, "timeout": 30},
        }
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(conn)
        client = boto3.client(
            "s3", endpoint_url=s3, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        )
        client.create_bucket(Bucket=BUCKET)
        sizes = []
        for i in range(args.images):
            data = jpeg(i, args.megabytes)
            sizes.append(len(data))
            client.put_object(Bucket=BUCKET, Key=f"cards/{i:04d}.jpg", Body=data)
        uris = [f"cos://{BUCKET}/cards/{i:04d}.jpg" for i in range(args.images)]
        print(f"{args.images} JPEGs, {sum(sizes) / len(sizes) / 1e6:.2f} MB on average, in moto at {s3}")
        results = []
        for send_as in ("base64", "url"):
            billed = stats(endpoint).get("billed", 0)
            result = run_mode(send_as, uris)
            result["billed"] = stats(endpoint).get("billed", 0) - billed
            results.append(result)
            print(json.dumps(result))
    print(
        "\n| send_as | worker CPU s | sent per image | received per image | images/s | share of 20/s |\n"
        "|---|---|---|---|---|---|"
    )
    for r in results:
        print(
            f"| {r['send_as']} | {r['worker_cpu_seconds']} | {r['sent_bytes_per_image']:,} B | "
            f"{r['received_bytes_per_image']:,} B | {r['images_per_second']} | {r['share_of_limit']:.0%} |"
        )


if __name__ == "__main__":
    main()
