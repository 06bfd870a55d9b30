"""Image downloads never reach a link-local address (where cloud metadata services answer) unless asked to.

A manifest row, or a redirect from an image server, can name ``http://169.254.169.254/...``: the
instance's credentials would then be fetched and sent to OCR as an "image". Each connection of the
image session resolves its host and refuses when any address is link-local (169.254.0.0/16,
fe80::/10; IPv4 inside IPv6 and decimal/octal/hex IPv4 spellings too), before connecting, and
checks the address it connected to (a name that resolves differently the second time). Redirects go
through the same session, so every hop is checked. Behind an HTTP proxy the proxy resolves the name:
only literal addresses (in every spelling) are checked then.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from airflow_provider_tencent_ocr.exceptions import LinkLocalRefused

if TYPE_CHECKING:
    import requests

#: The operator / RunOptions argument that lifts the refusal.
OPT_IN = LinkLocalRefused.OPT_IN  # the operator argument that allows link-local image hosts
#: Link-local networks: IPv4 169.254.0.0/16 (AWS, GCP, Azure, Tencent Cloud metadata) and IPv6 fe80::/10.
REFUSED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
)


def is_link_local(address: str) -> bool:
    """True for 169.254.0.0/16 and fe80::/10 in any literal spelling (IPv6 zones, IPv4 inside IPv6, numeric IPv4)."""
    ip = _literal_address(address.strip("[]").split("%", 1)[0].rstrip("."))
    if ip is None:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    return any(ip in network for network in REFUSED_NETWORKS)


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host written as a literal stands for, in every spelling a resolver (or proxy) accepts.

    ``2852039166``, ``0251.0376.0251.0376``, ``0xa9fea9fe`` and ``169.254.43518`` are all 169.254.169.254
    to ``inet_aton``; a proxy resolving them would reach the metadata service.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not host or not all(part.isalnum() for part in host.split(".")):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64, 6to4."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = ip.packed
    if packed[:12] == bytes(12) and int(ip) > 1:  # IPv4-compatible (deprecated), not :: or ::1
        return ipaddress.IPv4Address(packed[12:])
    if ip in _NAT64:
        return ipaddress.IPv4Address(packed[12:])
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def check_url(url: str) -> None:
    """Refuse a URL whose host is written as a link-local address (checked even when a proxy resolves names)."""
    host = urlsplit(url).hostname or ""
    if is_link_local(host):
        raise LinkLocalRefused(host, host)


def _check_resolved(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:  # unresolvable: the connection attempt fails and says so
        return
    for *_, sockaddr in infos:
        if is_link_local(str(sockaddr[0])):
            raise LinkLocalRefused(host, str(sockaddr[0]))


def _refuse_link_local_redirect(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A redirect to a literal link-local address is refused before it is followed (proxies included)."""
    if response.is_redirect:
        target = urljoin(response.url, response.headers.get("Location", ""))
        try:
            check_url(target)
        except LinkLocalRefused:
            response.close()
            raise


def refuse_link_local(session: requests.Session) -> None:
    """Make every connection of ``session`` (each redirect hop, proxies' pools too) refuse link-local addresses.

    Wraps the connection classes of whatever adapters are mounted (so it composes with
    :func:`~airflow_provider_tencent_ocr.io.http_deadline.enforce_deadlines`; call it after that).
    """
    from requests.adapters import HTTPAdapter

    for adapter in set(session.adapters.values()):
        if not isinstance(adapter, HTTPAdapter):
            continue
        adapter.poolmanager.pool_classes_by_scheme = _checked_pools(adapter.poolmanager.pool_classes_by_scheme)
        plain = adapter.proxy_manager_for

        def proxy_manager_for(proxy: str, _plain: Any = plain, **kwargs: Any) -> Any:
            proxy_manager = _plain(proxy, **kwargs)
            proxy_manager.pool_classes_by_scheme = _checked_pools(proxy_manager.pool_classes_by_scheme)
            return proxy_manager

        adapter.proxy_manager_for = proxy_manager_for  # type: ignore[method-assign]
    if _refuse_link_local_redirect not in session.hooks["response"]:
        session.hooks["response"].append(_refuse_link_local_redirect)


def _checked_pools(pools: dict[str, type]) -> dict[str, type]:
    return {scheme: _checked_pool(pool) for scheme, pool in pools.items()}


@functools.cache
def _checked_pool(pool: type) -> type:
    if getattr(pool, "_refuses_link_local", False):
        return pool
    connection = _checked_connection(pool.ConnectionCls)  # type: ignore[attr-defined]
    return type(
        f"LinkLocalRefusing{pool.__name__}", (pool,), {"ConnectionCls": connection, "_refuses_link_local": True}
    )


@functools.cache
def _checked_connection(connection: type) -> type:
    def _new_conn(self: Any) -> socket.socket:
        if self.proxy is None:  # through a proxy, this socket goes to the proxy, which resolves the name
            _check_resolved(self._dns_host, self.port or 0)
        sock: socket.socket = connection._new_conn(self)  # type: ignore[attr-defined]
        peer = str(sock.getpeername()[0])
        if self.proxy is None and is_link_local(peer):  # resolved differently the second time
            sock.close()
            raise LinkLocalRefused(self.host, peer)
        return sock

    return type(f"LinkLocalRefusing{connection.__name__}", (connection,), {"_new_conn": _new_conn})
