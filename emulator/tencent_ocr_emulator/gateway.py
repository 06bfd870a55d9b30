"""The API gateway's reading of a request: which signature, which action, which parameters.

What the real service accepts (API 3.0 "request structure" and "signature" pages):

- ``POST`` with ``Content-Type: application/json``, signed with TC3-HMAC-SHA256 (headers
  ``X-TC-Action`` / ``X-TC-Version`` / ``X-TC-Region`` / ``X-TC-Timestamp`` and ``Authorization``);
- ``GET`` with the parameters in the query string, signed with TC3-HMAC-SHA256 (the canonical query
  string is the query as sent, the payload is empty) or with signature v1;
- ``POST`` with ``Content-Type: application/x-www-form-urlencoded``, signed with signature v1
  (``HmacSHA1`` / ``HmacSHA256``; ``Action``, ``Version``, ``Region``, ``Timestamp``, ``Nonce``,
  ``SecretId``, ``Signature`` and the action's parameters in the body).

GET and form-encoded parameters are strings, with lists and objects flattened (``A.0.B``); this
action only has flat parameters. Everything else is refused with the API's codes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tencent_ocr_emulator.errors import ApiError
from tencent_ocr_emulator.signature import (
    V1_COMMON_PARAMETERS,
    Credentials,
    SignatureError,
    verify,
    verify_v1,
)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class ApiCall:
    """An authenticated request: who, which action/version/region, and its parameters."""

    secret_id: str
    action: str
    version: str
    region: str
    params: dict[str, Any]
    signature_method: str


def content_type(headers: Mapping[str, str]) -> str:
    """The media type of ``Content-Type``, lower-case, without parameters."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get("content-type", "").split(";", 1)[0].strip().lower()


def authenticate(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    service: str,
    credentials: Mapping[str, Credentials],
) -> ApiCall:
    """Read and verify one request as the gateway does; raise :class:`ApiError` with the API's code."""
    parts = urlsplit(target)
    path, query = parts.path or "/", parts.query
    lowered = {k.lower(): v for k, v in headers.items()}
    media = content_type(headers)
    if lowered.get("authorization", "").strip() or "x-tc-action" in lowered:
        return _tc3(method, path, query, headers, lowered, body, media, service, credentials)
    if method == "GET":
        return _v1(method, path, _form(query), lowered, credentials)
    if media == FORM:
        return _v1(method, path, _form(body.decode("utf-8", "replace")), lowered, credentials)
    if media == JSON:
        raise ApiError("MissingParameter", "The X-TC-Action header is missing.")
    raise ApiError(
        "InvalidParameter",
        "Send POST with Content-Type application/json (TC3-HMAC-SHA256) or "
        "application/x-www-form-urlencoded (HmacSHA1 / HmacSHA256), or GET with a query string.",
    )


def _tc3(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    lowered: Mapping[str, str],
    body: bytes,
    media: str,
    service: str,
    credentials: Mapping[str, Credentials],
) -> ApiCall:
    action = lowered.get("x-tc-action", "")
    if not action:
        raise ApiError("MissingParameter", "The X-TC-Action header is missing.")
    if method == "POST" and media == FORM:
        raise ApiError(
            "InvalidParameter",
            "A form-encoded POST must be signed with HmacSHA1 or HmacSHA256 (signature v1), not TC3-HMAC-SHA256.",
        )
    if method == "POST" and media != JSON:
        raise ApiError("InvalidParameter", f"{action} takes Content-Type application/json over POST.")
    try:
        secret_id = verify(
            method=method, path=path, query=query, headers=headers, body=body, service=service, credentials=credentials
        )
    except SignatureError as err:
        raise ApiError(err.code, err.message) from None
    params = _form(query) if method == "GET" else _json(body)
    return ApiCall(
        secret_id=secret_id,
        action=action,
        version=lowered.get("x-tc-version", ""),
        region=lowered.get("x-tc-region", ""),
        params=params,
        signature_method="TC3-HMAC-SHA256",
    )


def _v1(
    method: str, path: str, params: dict[str, str], lowered: Mapping[str, str], credentials: Mapping[str, Credentials]
) -> ApiCall:
    if not params.get("Action"):
        raise ApiError("MissingParameter", "The request is missing a required parameter `Action`.")
    try:
        secret_id = verify_v1(
            method=method, host=lowered.get("host", ""), path=path, params=params, credentials=credentials
        )
    except SignatureError as err:
        raise ApiError(err.code, err.message) from None
    return ApiCall(
        secret_id=secret_id,
        action=params["Action"],
        version=params.get("Version", ""),
        region=params.get("Region", ""),
        params={k: v for k, v in params.items() if k not in V1_COMMON_PARAMETERS},
        signature_method=params.get("SignatureMethod") or "HmacSHA1",
    )


def _form(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("InvalidParameter", "The parameters are not valid URL-encoded UTF-8.") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        repeated = sorted({name for name, _ in pairs if sum(1 for n, _ in pairs if n == name) > 1})[0]
        raise ApiError("InvalidParameter", f"The parameter {repeated} is given more than once.")
    return params


def _json(body: bytes) -> dict[str, Any]:
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        raise ApiError("InvalidParameter", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise ApiError("InvalidParameter", "The request body must be a JSON object.")
    return params
