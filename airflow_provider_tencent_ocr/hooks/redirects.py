"""API calls never follow redirects: the Tencent Cloud API never sends one, and following it resends the image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tencent_ocr.exceptions import ErrorKind, RedirectRefused, TencentCloudAPIError

if TYPE_CHECKING:
    import requests


def refuse_redirects(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A ``requests`` response hook: raise on a redirect before the session follows it.

    ``requests`` resends a 307/308 POST with its body (the ID image) to wherever ``Location``
    points, and follows a 302 anywhere, a cloud metadata address included. Response hooks run
    before redirects are resolved, so nothing is sent to the target. Only the target's scheme and
    host are kept for the message (its path or query may carry tokens).
    """
    if not response.is_redirect:
        return
    from urllib.parse import urljoin, urlsplit

    target = urlsplit(urljoin(response.url, response.headers.get("Location", "")))
    response.close()
    raise RedirectRefused(response.status_code, f"{target.scheme}://{target.netloc.rpartition('@')[2]}")


def refuse_session_redirects(session: requests.Session) -> None:
    """Make ``session`` refuse every redirect (a response hook, and no redirect budget as a second lock)."""
    if refuse_redirects not in session.hooks["response"]:
        session.hooks["response"].append(refuse_redirects)
    session.max_redirects = 0  # requests raises TooManyRedirects rather than follow, should the hook be lost


def redirect_error(err: RedirectRefused, host: str, conn_id: str) -> TencentCloudAPIError:
    """A redirect means the endpoint is not the API: a configuration error that stops the run, never a row's answer."""
    return TencentCloudAPIError(
        "RedirectRefused",
        f"{host} answered HTTP {err.status} redirecting to {err.target}, and the Tencent Cloud API never "
        f"redirects: the endpoint of connection {conn_id!r} is not the API (a proxy, a load balancer or a wrong "
        "host?). The redirect was not followed, so the request and its image went nowhere else; fix the "
        "connection's host, port and schema",
        http_status=err.status,
        kind=ErrorKind.FATAL,
    )
