"""Small valid images for the emulator's tests (no imaging library needed).

The emulator's tests stand alone: they never import the provider's test helpers.
"""

from __future__ import annotations

import struct
import zlib


def make_png(width: int = 4, height: int = 4, seed: int = 0) -> bytes:
    """A small valid PNG whose bytes differ per ``seed``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes((seed + x + y) % 256 for x in range(width * 3)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
