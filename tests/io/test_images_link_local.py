"""Image URLs never reach link-local addresses (cloud metadata) unless asked: checked on the resolved address,
on every redirect hop, over real loopback HTTP.

No test may connect outside loopback, so where a server must stand at a "link-local" address, the
refused networks are widened to one loopback address (127.0.0.2) that plays the metadata service:
the mechanism (resolve, check, refuse before connecting; every hop) is the one that guards 169.254/16.
"""

from __future__ import annotations

import http.server
import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from airflow_provider_tencent_ocr.exceptions import ImageDownloadError
from airflow_provider_tencent_ocr.io import link_local
from airflow_provider_tencent_ocr.io.images import load_image

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests = 0
    redirect_to = ""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests += 1
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)


@contextmanager
def _serve(address: str) -> Iterator[_Server]:
    server = _Server((address, 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metadata(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    """A server at 127.0.0.2, treated as link-local for this test (it plays 169.254.169.254)."""
    monkeypatch.setattr(
        link_local, "REFUSED_NETWORKS", (*link_local.REFUSED_NETWORKS, ipaddress.ip_network("127.0.0.2/32"))
    )
    with _serve("127.0.0.2") as server:
        yield server


@pytest.fixture
def images() -> Iterator[_Server]:
    with _serve("127.0.0.1") as server:
        yield server


def _refused(uri: str, **kwargs: object) -> ImageDownloadError:
    with pytest.raises(ImageDownloadError) as raised:
        load_image(uri, timeout=30, **kwargs)  # type: ignore[arg-type]
    return raised.value


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fe80::1]/card.png",
        "http://[fe80::a9fe:a9fe%25eth0]/card.png",
        "http://[::ffff:169.254.169.254]/card.png",
        "https://169.254.0.1:8443/card.png",
        # other spellings of 169.254.169.254: decimal, octal, hex, short, trailing dot, IPv4 inside IPv6
        "http://2852039166/card.png",
        "http://0251.0376.0251.0376/card.png",
        "http://0xa9fea9fe/card.png",
        "http://169.254.43518/card.png",
        "http://169.254.169.254./card.png",
        "http://[::169.254.169.254]/card.png",
        "http://[64:ff9b::a9fe:a9fe]/card.png",
        "http://[2002:a9fe:a9fe::1]/card.png",
    ],
)
def test_a_link_local_url_is_refused_before_any_connection(uri: str) -> None:
    began = time.monotonic()
    error = _refused(uri)
    assert error.code == "ImageAddressRefused" and not error.retryable
    assert "allow_link_local_images=True" in error.message
    assert time.monotonic() - began < 2  # no connection attempt (a 30 s connect timeout would show)


def test_an_image_server_redirecting_to_link_local_is_refused(images: _Server, metadata: _Server) -> None:
    images.redirect_to = f"http://127.0.0.2:{metadata.server_address[1]}/latest/meta-data/"
    error = _refused(f"http://127.0.0.1:{images.server_address[1]}/redirect")
    assert error.code == "ImageAddressRefused"
    assert (images.requests, metadata.requests) == (1, 0)


def test_a_redirect_to_the_literal_metadata_address_is_refused_before_following(images: _Server) -> None:
    images.redirect_to = "http://169.254.169.254/latest/meta-data/"
    began = time.monotonic()
    error = _refused(f"http://127.0.0.1:{images.server_address[1]}/redirect")
    assert error.code == "ImageAddressRefused" and time.monotonic() - began < 2


def test_a_host_name_is_checked_by_the_address_it_resolves_to(monkeypatch: pytest.MonkeyPatch, images: _Server) -> None:
    """``localhost`` resolves (through the system resolver) to a refused address: refused, nothing sent."""
    monkeypatch.setattr(link_local, "REFUSED_NETWORKS", (ipaddress.ip_network("127.0.0.1/32"),))
    error = _refused(f"http://localhost:{images.server_address[1]}/card.png")
    assert error.code == "ImageAddressRefused" and "127.0.0.1" in error.message
    assert images.requests == 0


def test_the_opt_in_reaches_a_link_local_server(images: _Server, metadata: _Server) -> None:
    images.redirect_to = f"http://127.0.0.2:{metadata.server_address[1]}/card.png"
    url = f"http://127.0.0.1:{images.server_address[1]}/redirect"
    assert load_image(url, timeout=5, allow_link_local=True) == PNG
    assert load_image(f"http://127.0.0.2:{metadata.server_address[1]}/card.png", allow_link_local=True) == PNG
    assert metadata.requests == 2


def test_ordinary_image_servers_are_unaffected(images: _Server) -> None:
    assert load_image(f"http://127.0.0.1:{images.server_address[1]}/card.png", timeout=5) == PNG
    assert load_image(f"http://localhost:{images.server_address[1]}/card.png", timeout=5) == PNG


@pytest.mark.parametrize("host", ["2852039166", "0251.0376.0251.0376", "0xa9fea9fe", "[::169.254.169.254]"])
def test_through_a_proxy_a_metadata_address_in_any_spelling_is_refused(
    monkeypatch: pytest.MonkeyPatch, images: _Server, host: str
) -> None:
    """Behind a proxy the proxy resolves the host: a numeric spelling of 169.254.169.254 never reaches it."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{images.server_address[1]}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{images.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    error = _refused(f"http://{host}/latest/meta-data/")
    assert error.code == "ImageAddressRefused" and "allow_link_local_images=True" in error.message
    assert images.requests == 0
