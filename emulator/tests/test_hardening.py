"""The emulator is safe to run as a server: each hardening item, over real HTTP.

- ``ImageUrl``: loopback only on every redirect hop, ``*_proxy`` variables ignored;
- bodies: size checked before reading, broken ``Content-Length`` answered in the envelope, chunked
  bodies capped;
- sockets time out;
- images over the pixel budget refused before decoding;
- ``--help`` names the credentials accepted by default.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from emulator_client import Client, code
from sample_images import make_png

from tencent_ocr_emulator import imageinfo
from tencent_ocr_emulator.server import DEFAULT_SECRET_ID, DEFAULT_SECRET_KEY, EmulatorServer

IMAGE = make_png(30, 20, seed=3)


# -- a loopback web server for ImageUrl ----------------------------------------------------------
class _Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _SiteHandler)
        self.routes = routes
        self.hits: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SiteHandler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        if self.path == "/drip":  # a valid answer, one byte every 0.4 s: 8 s in all
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.4)
            except OSError:
                pass  # the emulator gave up, as it should
            return
        status, headers, body = self.server.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[_Site]:
    server = _Site({})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(rate_limit=1000, socket_timeout=5) as emulator:
        yield emulator


@pytest.fixture
def client(server: EmulatorServer) -> Client:
    return Client(server.endpoint, server.secret_id, server.secret_key)


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Connections attempted off loopback (refused here, so no test ever reaches the network)."""
    attempted: list[tuple[str, int]] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            attempted.append(address)
            raise OSError("test: no network off loopback")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempted


def test_image_url_redirects_are_followed_on_loopback_only(
    client: Client, site: _Site, outbound: list, server: EmulatorServer
) -> None:
    site.routes.update(
        {
            "/card.png": (200, {"Content-Type": "image/png"}, IMAGE),
            "/hop": (302, {"Location": "/card.png"}, b""),
            "/away": (302, {"Location": "http://10.255.255.1/card.png"}, b""),
            "/meta": (301, {"Location": "/meta2"}, b""),
            "/meta2": (307, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/name": (302, {"Location": "http://metadata.google.internal/"}, b""),
            "/scheme": (302, {"Location": "file:///etc/passwd"}, b""),
        }
    )
    assert code(client.tc3_post({"ImageUrl": site.url + "/hop"})[1]) is None  # loopback hop: followed
    for path in ("/away", "/meta", "/name", "/scheme"):
        assert code(client.tc3_post({"ImageUrl": site.url + path})[1]) == "FailedOperation.DownLoadError", path
    assert code(client.tc3_post({"ImageUrl": "http://169.254.169.254/latest/meta-data/"})[1]) == (
        "FailedOperation.DownLoadError"
    )
    assert outbound == []  # not one connection was attempted off loopback
    assert server.stats.billed == 1


def test_image_url_download_is_bounded_in_time(client: Client, site: _Site) -> None:
    """The API allows 3 s to download an image; a server dripping bytes cannot hold the emulator."""
    # Had the emulator waited for all 20 bytes, it would have answered ImageDecodeFailed (not a PNG).
    assert code(client.tc3_post({"ImageUrl": site.url + "/drip"})[1]) == "FailedOperation.DownLoadError"


def test_image_url_download_is_capped_in_size(client: Client, site: _Site) -> None:
    """An image past the API's limit is refused as too large; the emulator stops reading at its cap."""
    site.routes["/huge.png"] = (200, {"Content-Type": "image/png"}, IMAGE + b"\0" * (12 * 1024 * 1024))
    assert code(client.tc3_post({"ImageUrl": site.url + "/huge.png"})[1]) == "FailedOperation.ImageSizeTooLarge"
    site.routes["/card.png"] = (200, {"Content-Type": "image/png"}, IMAGE)
    assert code(client.tc3_post({"ImageUrl": site.url + "/card.png"})[1]) is None  # under the cap: recognised


def test_image_url_ignores_proxy_variables(
    client: Client, site: _Site, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    proxy = _Site({})
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        # urlopen() caches its opener, proxies included, on first use: drop it so the variables count.
        monkeypatch.setattr(urllib.request, "_opener", None)
        site.routes["/card.png"] = (200, {"Content-Type": "image/png"}, IMAGE)
        assert code(client.tc3_post({"ImageUrl": site.url + "/card.png"})[1]) is None
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
    assert site.hits == ["/card.png"] and proxy.hits == []
    assert server.stats.images == {hashlib.sha256(IMAGE).hexdigest(): 1}


# -- request bodies ------------------------------------------------------------------------------
def _exchange(server: EmulatorServer, head: bytes, body: bytes = b"", *, timeout: float = 30) -> tuple[int, dict]:
    """Send raw bytes, read one answer: its status and JSON body."""
    host, port = server.endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head)
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server answered and stopped reading: the answer is still there to read
        reply = b""
        while b"\r\n\r\n" not in reply or len(reply.partition(b"\r\n\r\n")[2]) < _length(reply):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    return int(status_line.split()[1]), json.loads(rest.partition(b"\r\n\r\n")[2])


def _length(reply: bytes) -> int:
    for line in reply.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 1 << 62


def _head(client: Client, body: bytes, **extra: str) -> bytes:
    headers = {**client.tc3_headers(body=body), **extra}
    lines = ["POST / HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items() if v is not None)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("length", "status", "expected"),
    [("-1", 400, "InvalidParameter"), ("abc", 400, "InvalidParameter"), ("1e3", 400, "InvalidParameter")],
)
def test_broken_content_length_is_answered_not_dropped(
    client: Client, server: EmulatorServer, length: str, status: int, expected: str
) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    got_status, answer = _exchange(server, _head(client, b"{}", **{"Content-Length": length}), body)
    assert got_status == status and code(answer) == expected


def test_missing_content_length_is_answered(client: Client, server: EmulatorServer) -> None:
    status, answer = _exchange(server, _head(client, b"{}"))
    assert status == 411 and code(answer) == "MissingParameter"


def test_body_over_the_limit_is_refused_before_it_is_read(client: Client, server: EmulatorServer) -> None:
    """60 MB announced, 1 MB sent: the answer comes without waiting for (or buffering) the rest."""
    head = _head(client, b"{}", **{"Content-Length": str(60 * 1024 * 1024)})
    status, answer = _exchange(server, head, b"x" * (1024 * 1024))
    # Had the server waited for the body, it would have answered "did not arrive in time" instead.
    assert status == 200 and code(answer) == "RequestSizeLimitExceeded"


def _chunked(payload: bytes, size: int) -> bytes:
    pieces = [payload[i : i + size] for i in range(0, len(payload), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def test_chunked_body_is_accepted_and_capped(client: Client, server: EmulatorServer) -> None:
    body = json.dumps({"ImageBase64": base64.b64encode(IMAGE).decode()}).encode()
    status, answer = _exchange(server, _head(client, body, **{"Transfer-Encoding": "chunked"}), _chunked(body, 7))
    assert status == 200 and code(answer) is None and answer["Response"]["ID"]

    big = b"{" + b" " * (11 * 1024 * 1024) + b"}"
    head = _head(client, big, **{"Transfer-Encoding": "chunked"})
    status, answer = _exchange(server, head, _chunked(big, 1024 * 1024))
    assert status == 200 and code(answer) == "RequestSizeLimitExceeded"

    status, answer = _exchange(
        server, _head(client, body, **{"Transfer-Encoding": "chunked"}), b"zz\r\n{}\r\n0\r\n\r\n"
    )
    assert status == 400 and code(answer) == "InvalidParameter"


# -- socket timeouts -----------------------------------------------------------------------------
def test_silent_connections_are_closed(client: Client) -> None:
    with EmulatorServer(rate_limit=1000, socket_timeout=0.5) as emulator:
        host, port = emulator.endpoint.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=20) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            assert sock.recv(65536) == b""  # closed by the server (a test timeout here means it never was)

        slow = Client(emulator.endpoint, emulator.secret_id, emulator.secret_key)
        head = _head(slow, b"{}", **{"Content-Length": "100"})
        status, answer = _exchange(emulator, head, b"{", timeout=20)  # body never finished
        assert status == 400 and code(answer) == "InvalidParameter"
        head = _head(slow, b"{}", **{"Transfer-Encoding": "chunked"})
        status, answer = _exchange(emulator, head, b"5\r\n{", timeout=20)  # chunked body never finished
        assert status == 400 and code(answer) == "InvalidParameter"


# -- pixel budget --------------------------------------------------------------------------------
def _png_declaring(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` over a tiny (truncated) image stream."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey: compresses ~1000:1
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))


def test_images_over_the_pixel_budget_are_refused_before_decoding(client: Client, server: EmulatorServer) -> None:
    bomb = base64.b64encode(_png_declaring(30000, 30000)).decode()
    # The fixture recogniser answers any image it is given: only the budget can refuse this one.
    assert code(client.tc3_post({"ImageBase64": bomb})[1]) == "FailedOperation.ImageDecodeFailed"
    assert server.stats.billed == 0

    small = base64.b64encode(make_png(40, 30)).decode()
    with EmulatorServer(rate_limit=1000, max_pixels=1199) as tight:
        tight_client = Client(tight.endpoint, tight.secret_id, tight.secret_key)
        assert code(tight_client.tc3_post({"ImageBase64": small})[1]) == "FailedOperation.ImageDecodeFailed"
    with EmulatorServer(rate_limit=1000, max_pixels=1200) as exact:
        exact_client = Client(exact.endpoint, exact.secret_id, exact.secret_key)
        assert code(exact_client.tc3_post({"ImageBase64": small})[1]) is None


@pytest.mark.parametrize(
    ("fmt", "options"),
    [("PNG", {}), ("JPEG", {}), ("JPEG", {"progressive": True}), ("BMP", {})],
)
def test_dimensions_are_read_from_the_header(fmt: str, options: dict) -> None:
    Image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    Image.new("RGB", (123, 45), (200, 10, 10)).save(buffer, fmt, **options)
    assert imageinfo.dimensions(buffer.getvalue()) == (123, 45)


def test_dimensions_of_crafted_headers() -> None:
    jpeg = b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x0b\x08" + struct.pack(">HH", 40000, 30000) + b"\x01"
    assert imageinfo.dimensions(jpeg) == (30000, 40000)
    bmp = b"BM" + b"\0" * 12 + struct.pack("<Iii", 40, 30000, -30000)
    assert imageinfo.dimensions(bmp) == (30000, 30000)
    assert imageinfo.dimensions(_png_declaring(30000, 30000)) == (30000, 30000)
    assert imageinfo.dimensions(b"\x89PNG\r\n\x1a\n") is None  # unreadable: left to the decoder


# -- --help --------------------------------------------------------------------------------------
def test_help_names_the_default_credentials() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tencent_ocr_emulator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert DEFAULT_SECRET_ID in done.stdout and DEFAULT_SECRET_KEY in done.stdout
    for flag in ("--capacity", "--queue-timeout", "--max-pixels", "--socket-timeout"):
        assert flag in done.stdout


@pytest.mark.parametrize(
    "action",
    [
        "RecognizeThaiIDCardOCR",
        "RecognizeIndonesiaIDCardOCR",
        "RecognizePhilippinesVoteIDOCR",
        "RecognizeSingaporeIDCardOCR",
    ],
)
def test_image_url_is_fetched_for_every_action_that_takes_it(
    action: str, site: _Site, server: EmulatorServer, outbound: list
) -> None:
    site.routes["/card.png"] = (200, {"Content-Type": "image/png"}, IMAGE)
    site.routes["/hop"] = (302, {"Location": "/card.png"}, b"")
    client = Client(server.endpoint, server.secret_id, server.secret_key, action=action)
    assert code(client.tc3_post({"ImageUrl": site.url + "/hop"})[1]) is None
    site.routes["/away"] = (302, {"Location": "http://10.255.255.1/card.png"}, b"")
    assert code(client.tc3_post({"ImageUrl": site.url + "/away"})[1]) == "FailedOperation.DownLoadError"
    assert outbound == [] and server.stats.actions == {action: 1}


def test_a_downloaded_image_meets_its_actions_own_size_limit(site: _Site, server: EmulatorServer) -> None:
    """Indonesia takes 2 MB of Base64 (the others 7 MB), downloaded images included."""
    site.routes["/big.png"] = (200, {"Content-Type": "image/png"}, IMAGE + b"\0" * (2 * 1024 * 1024))
    indonesia = Client(server.endpoint, server.secret_id, server.secret_key, action="RecognizeIndonesiaIDCardOCR")
    thai = Client(server.endpoint, server.secret_id, server.secret_key, action="RecognizeThaiIDCardOCR")
    assert code(indonesia.tc3_post({"ImageUrl": site.url + "/big.png"})[1]) == "FailedOperation.ImageSizeTooLarge"
    assert code(thai.tc3_post({"ImageUrl": site.url + "/big.png"})[1]) is None
