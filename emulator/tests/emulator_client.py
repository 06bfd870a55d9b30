"""A minimal Tencent Cloud API 3.0 client for the emulator tests, written from the published algorithms.

It shares no code with the SDK nor with the emulator's ``signature`` module, so a mistake in either
shows up as a disagreement. Requests go through ``http.client`` directly: no proxy settings, no
retries, and the raw status and body come back as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

ACTION = "RecognizeSingaporeIDCardOCR"
VERSION = "2018-11-19"
REGION = "ap-singapore"


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    *,
    method: str,
    host: str,
    query: str,
    content_type: str,
    body: bytes,
    timestamp: int,
    service: str = "ocr",
) -> str:
    """The ``Authorization`` header of signature v3, signing ``content-type;host``."""
    canonical = (
        f"{method}\n/\n{query}\ncontent-type:{content_type}\nhost:{host}\n\ncontent-type;host\n"
        f"{hashlib.sha256(body).hexdigest()}"
    )
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac256(_hmac256(_hmac256(("TC3" + secret_key).encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, Signature={signature}"


def v1_sign(params: dict[str, str], secret_key: str, *, method: str, host: str, sign_method: str) -> str:
    """Signature v1: base64 HMAC of ``METHOD host /? sorted k=v`` (values not URL-encoded)."""
    text = method + host + "/?" + "&".join(f"{k.replace('_', '.')}={params[k]}" for k in sorted(params))
    digest = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}[sign_method]
    return base64.b64encode(hmac.new(secret_key.encode(), text.encode(), digest).digest()).decode()


def send(
    endpoint: str, method: str, target: str, headers: dict[str, str], body: bytes = b"", *, timeout: float = 30
) -> tuple[int, dict[str, Any]]:
    """One request; the HTTP status and the decoded JSON answer."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, target, body=body or None, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


class Client:
    """Signed calls to an emulator at ``endpoint`` with the given key pair."""

    def __init__(self, endpoint: str, secret_id: str, secret_key: str, *, action: str = ACTION) -> None:
        self.endpoint, self.secret_id, self.secret_key = endpoint, secret_id, secret_key
        self.host = urlsplit(endpoint).netloc
        self.action = action

    def tc3_headers(
        self, *, method: str = "POST", query: str = "", body: bytes = b"", timestamp: int | None = None
    ) -> dict[str, str]:
        timestamp = int(time.time()) if timestamp is None else timestamp
        content_type = "application/json" if method == "POST" else "application/x-www-form-urlencoded"
        return {
            "Content-Type": content_type,
            "Host": self.host,
            "X-TC-Action": self.action,
            "X-TC-Version": VERSION,
            "X-TC-Region": REGION,
            "X-TC-Timestamp": str(timestamp),
            "Authorization": tc3_authorization(
                self.secret_id,
                self.secret_key,
                method=method,
                host=self.host,
                query=query,
                content_type=content_type,
                body=body,
                timestamp=timestamp,
            ),
        }

    def tc3_post(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = json.dumps(params).encode()
        return send(self.endpoint, "POST", "/", self.tc3_headers(body=body), body)

    def tc3_get(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        query = urlencode(params)
        return send(self.endpoint, "GET", "/?" + query, self.tc3_headers(method="GET", query=query))

    def v1_params(
        self,
        params: dict[str, str],
        *,
        method: str,
        sign_method: str = "HmacSHA256",
        timestamp: int | None = None,
        secret_key: str | None = None,
    ) -> dict[str, str]:
        signed = {
            **params,
            "Action": self.action,
            "Version": VERSION,
            "Region": REGION,
            "Timestamp": str(int(time.time()) if timestamp is None else timestamp),
            "Nonce": str(random.randint(1, 2**31)),
            "SecretId": self.secret_id,
            "SignatureMethod": sign_method,
        }
        signed["Signature"] = v1_sign(
            signed, secret_key or self.secret_key, method=method, host=self.host, sign_method=sign_method
        )
        return signed

    def v1(self, params: dict[str, str], *, method: str = "GET", **kwargs: Any) -> tuple[int, dict[str, Any]]:
        encoded = urlencode(self.v1_params(params, method=method, **kwargs))
        if method == "GET":
            return send(self.endpoint, "GET", "/?" + encoded, {"Host": self.host})
        headers = {"Host": self.host, "Content-Type": "application/x-www-form-urlencoded"}
        return send(self.endpoint, "POST", "/", headers, encoded.encode())


def code(answer: dict[str, Any]) -> str | None:
    """The error code of an answer in the API's envelope (None on success); checks the envelope."""
    response = answer["Response"]
    assert response.get("RequestId"), "every answer carries a RequestId"
    return response.get("Error", {}).get("Code")
