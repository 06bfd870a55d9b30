"""Reading a streamed HTTP body under a size cap and a total deadline: one reader for API answers and images.

``requests`` timeouts are per socket read, so a server that trickles its body one byte at a time is
never timed out by them; and a body is only as small as the server says. Both callers (the API
transport and image downloads) need the same two bounds, so both read through :func:`read_body`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from airflow_provider_tencent_ocr.exceptions import BodyDeadlineExceeded, BodyTooLarge

if TYPE_CHECKING:
    import requests

CHUNK_BYTES = 64 * 1024


def read_body(response: requests.Response, limit: int, deadline_at: float) -> bytes:
    """The body, read as it arrives: at most ``limit`` bytes, finished before ``deadline_at`` (monotonic).

    Raises :class:`BodyTooLarge` past the limit (announced by ``Content-Length`` or actually sent;
    ``size`` is the announced length when known) and :class:`BodyDeadlineExceeded` past the deadline
    (``received`` bytes so far).
    """
    announced = response.headers.get("Content-Length", "")
    if announced.isdigit() and int(announced) > limit:
        raise BodyTooLarge(int(announced))
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline_at:
            raise BodyDeadlineExceeded(size)
        chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)  # what has arrived, never waiting for more
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
