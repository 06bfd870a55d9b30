"""Small builders shared by the test modules: images, threads, operator runs, an overloaded service."""

from __future__ import annotations

import collections
import struct
import threading
import time
import types
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tencent_ocr_emulator.recognisers import FixtureRecogniser, Recognition
from tencent_ocr_emulator.server import EmulatorServer


def make_png(width: int = 4, height: int = 4, seed: int = 0) -> bytes:
    """A small valid PNG whose bytes differ per ``seed`` (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes((seed + x + y) % 256 for x in range(width * 3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def in_thread(fn: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Run ``fn`` in a daemon thread; the test fails (instead of hanging) if it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "hung"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# -- operator runs: execute() with the minimal context Airflow passes it ------------------------------
def make_context(**values):
    """What Airflow passes ``execute``: ``outlet_events`` and the template values."""
    return {"outlet_events": collections.defaultdict(types.SimpleNamespace), **values}


def execute(op, **values):
    context = make_context(**values)
    return op.execute(context), context


def operator(tmp_path, **kwargs):
    """The Singapore operator with a test's defaults (output under ``tmp_path``, no progress noise)."""
    from airflow_provider_tencent_ocr.operators.singapore_id_card import TencentOcrSingaporeIdCardOperator

    kwargs.setdefault("output", str(tmp_path / "out" / "cards.parquet"))
    kwargs.setdefault("max_in_flight", 4)
    kwargs.setdefault("progress_interval", 60.0)
    return TencentOcrSingaporeIdCardOperator(task_id="ocr", **kwargs)


def write_manifest(path: Path, rows: list[tuple[str, str]], header: str = "record_id,image_uri") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n")
    return str(path)


def image_file(folder: Path, seed: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"img_{seed}.png"
    path.write_bytes(make_png(5, 5, seed=seed))
    return str(path)


# -- an overloaded service ------------------------------------------------------------------------------
class OneAtATime:
    """An overloaded service: one recognition at a time, ``seconds`` each, the rest queue.

    Each queued request is recognised (and billed by the emulator) when its turn comes, even if
    its client has given up waiting, as a real overloaded service would.
    """

    name = "one-at-a-time"

    def __init__(self, seconds: float) -> None:
        self.inner = FixtureRecogniser()
        self.seconds = seconds
        self._lock = threading.Lock()

    def recognise(self, image: bytes, *, return_head_image: bool) -> Recognition:
        with self._lock:
            time.sleep(self.seconds)
            return self.inner.recognise(image, return_head_image=return_head_image)

    def close(self) -> None:
        self.inner.close()


def settled(emulator: EmulatorServer) -> None:
    """Wait until the emulator has answered (and billed) everything it accepted."""
    deadline = time.monotonic() + 60
    while emulator.stats.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
