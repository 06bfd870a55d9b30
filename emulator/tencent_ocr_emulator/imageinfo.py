"""Image dimensions read from the file header alone, so oversized images are refused before decoding.

A 109 KB PNG can declare 30000x30000 pixels and take gigabytes to decode: the server checks the
declared size against a pixel budget first. Only PNG, JPEG and BMP (the formats the API takes).
"""

from __future__ import annotations

import struct

# JPEG start-of-frame markers carry the dimensions; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def dimensions(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` declared by a PNG, JPEG or BMP header; None if it cannot be read."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(data) >= 24 and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        return None
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data.startswith(b"BM") and len(data) >= 26:
        (header_size,) = struct.unpack("<I", data[14:18])
        if header_size == 12:  # BITMAPCOREHEADER: 16-bit sizes
            return struct.unpack("<HH", data[18:22])
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)  # negative height: top-down rows
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF:
            if pos + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        if length < 2:
            return None
        pos += 2 + length
    return None
