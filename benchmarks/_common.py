"""Shared by the benchmarks: an emulator subprocess, generated images, a runner call, an overloaded service."""

from __future__ import annotations

import json
import os
import struct
import threading
import time
import urllib.request
import zlib
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tencent_ocr_emulator.process import emulator_process
from tencent_ocr_emulator.server import STATS_PATH, connection_json


def png(seed: int, size: int = 16) -> bytes:
    """A small valid PNG, distinct per seed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes((seed * 7 + x * y + y) % 256 for x in range(size * 3)) for y in range(size))
    raw += seed.to_bytes(8, "big")  # guarantees distinct bytes for every seed
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write_manifest(folder: Path, rows: int, unique: int) -> Path:
    """``rows`` manifest rows over ``unique`` distinct images (they repeat when rows > unique)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(unique):
        (folder / f"img{i}.png").write_bytes(png(i))
    manifest = folder / f"manifest_{rows}.csv"
    with open(manifest, "w", encoding="utf-8") as fh:
        fh.write("record_id,image_uri\n")
        for i in range(rows):
            fh.write(f"r{i},{folder / f'img{i % unique}.png'}\n")
    return manifest


def emulator(*flags: str) -> AbstractContextManager[str]:
    """An emulator subprocess with these flags; yields its endpoint."""
    return emulator_process(*flags)


def stats(endpoint: str) -> dict[str, Any]:
    with urllib.request.urlopen(endpoint + STATS_PATH, timeout=10) as answer:
        return json.loads(answer.read())


def use_emulator(endpoint: str, timeout: float | None = 10) -> None:
    """Point the default connection at ``endpoint`` (``timeout=None``: the hook's default, 30 s)."""
    os.environ["AIRFLOW_CONN_TENCENTCLOUD_DEFAULT"] = connection_json(endpoint, timeout=timeout)


class OneAtATime:
    """An overloaded service for ``EmulatorServer(recogniser=...)``: one recognition at a time.

    Each takes ``seconds``; the others queue without bound, and each is recognised (and billed by
    the emulator) when its turn comes, even if its client has long given up.
    """

    name = "one-at-a-time"

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds
        self._lock = threading.Lock()

    def recognise(self, image: bytes, *, return_head_image: bool) -> Any:
        with self._lock:
            time.sleep(self.seconds)
            return self.inner.recognise(image, return_head_image=return_head_image)

    def close(self) -> None:
        self.inner.close()


def run_ocr(manifest: Path, output: Path, cache: Path | None, **options: Any) -> tuple[Any, float]:
    """One runner pass; returns its summary and wall seconds (from opening the manifest to the commit)."""
    from airflow_provider_tencent_ocr.hooks.ocr import TencentOcrHook
    from airflow_provider_tencent_ocr.io.cache import ResultCache
    from airflow_provider_tencent_ocr.io.manifest import open_manifest
    from airflow_provider_tencent_ocr.io.parquet import ParquetOutputWriter, output_schema
    from airflow_provider_tencent_ocr.run.runner import OcrRunner, RunOptions

    started = time.monotonic()
    opened = open_manifest(str(manifest), id_column="record_id")
    result_cache = ResultCache(str(cache)) if cache else None
    hook = TencentOcrHook(timeout=options.get("timeout"))
    runner = OcrRunner(hook, RunOptions(**options), cache=result_cache)
    try:
        with ParquetOutputWriter(str(output), output_schema(opened.carry_fields)) as writer:
            summary = runner.run(opened, writer, output=str(output))
    finally:
        if result_cache:
            result_cache.close()
    return summary, time.monotonic() - started
