"""Server-side verification of Tencent Cloud API 3.0 signatures, as the gateway does it.

Both published methods: signature v3 (TC3-HMAC-SHA256, in the Authorization header, over POST or
GET) and signature v1 (HmacSHA1 / HmacSHA256, in the ``Signature`` parameter of a GET query or a
form-encoded POST). Written from the published algorithms alone (no SDK code): a server that
shared the client's implementation would agree with the client's mistakes. The published test
vector is checked against it in the tests. Besides the hashing: parsing the Authorization header,
rebuilding the canonical request from whatever headers the client says it signed, and the checks
on time, identity and token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<id>[^/\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/\s]+)/tc3_request,"
    r"\s*SignedHeaders=(?P<signed>[a-z0-9\-;]+),\s*Signature=(?P<sig>[0-9a-f]{64})$"
)


class SignatureError(Exception):
    """A request refused before it reaches the action; ``code`` is the Tencent error code."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Credentials:
    """A key the emulator knows; ``token`` set means only temporary (STS) requests are accepted."""

    secret_key: str
    token: str | None = None


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], signed_headers: list[str], body: bytes
) -> str:
    """The canonical request string for ``signed_headers`` (names lower-case, in the listed order)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    canonical_headers = ""
    for name in signed_headers:
        value = lowered.get(name, "").strip()
        if name == "x-tc-action":
            value = value.lower()
        canonical_headers += f"{name}:{value}\n"
    payload_hash = hashlib.sha256(body).hexdigest()
    return f"{method}\n{path}\n{query}\n{canonical_headers}\n{';'.join(signed_headers)}\n{payload_hash}"


def string_to_sign(timestamp: int, date: str, service: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{date}/{service}/tc3_request\n{digest}"


def signature(secret_key: str, timestamp: int, service: str, canonical: str) -> str:
    """The hex signature the client should have sent (SDK key derivation)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    signing_key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(
        signing_key, string_to_sign(timestamp, date, service, canonical).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def verify(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    service: str,
    credentials: Mapping[str, Credentials],
    now: float | None = None,
) -> str:
    """Check one request; return its SecretId or raise :class:`SignatureError` with the gateway's code."""
    lowered = {k.lower(): v for k, v in headers.items()}
    match = _AUTH_RE.match(lowered.get("authorization", "").strip())
    if not match:
        raise SignatureError(
            "AuthFailure.InvalidAuthorization", "The Authorization header is missing or not TC3-HMAC-SHA256."
        )
    try:
        timestamp = int(lowered.get("x-tc-timestamp", ""))
    except ValueError:
        raise SignatureError("MissingParameter", "The X-TC-Timestamp header is missing or not an integer.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureError(
            "AuthFailure.SignatureExpire",
            "Request timestamp is more than 5 minutes from server time; check the clock.",
        )
    signed = match["signed"].split(";")
    if "content-type" not in signed or "host" not in signed or signed != sorted(signed):
        raise SignatureError(
            "AuthFailure.InvalidAuthorization",
            "SignedHeaders must list content-type and host, lower-case and sorted.",
        )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    if match["date"] != date or match["service"] != service:
        raise SignatureError(
            "AuthFailure.InvalidAuthorization",
            "The credential scope must be <UTC date of X-TC-Timestamp>/<service>/tc3_request.",
        )
    secret_id = match["id"]
    known = credentials.get(secret_id)
    if known is None:
        raise SignatureError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    token = lowered.get("x-tc-token") or None
    if token != known.token:
        raise SignatureError("AuthFailure.TokenFailure", "The token is missing, invalid or expired.")
    expected = signature(
        known.secret_key, timestamp, service, canonical_request(method, path, query, headers, signed, body)
    )
    if not hmac.compare_digest(expected, match["sig"]):
        raise SignatureError("AuthFailure.SignatureFailure", "The request signature does not match.")
    return secret_id


# -- signature v1 (HmacSHA1 / HmacSHA256) ----------------------------------------------------------
V1_DIGESTS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}
# Common parameters of a v1 request; everything else is the action's own.
V1_COMMON_PARAMETERS = frozenset(
    {
        "Action",
        "Version",
        "Region",
        "Timestamp",
        "Nonce",
        "SecretId",
        "Signature",
        "SignatureMethod",
        "Token",
        "Language",
        "RequestClient",
    }
)


def v1_string_to_sign(method: str, host: str, path: str, params: Mapping[str, str]) -> str:
    """``METHOD + host + path + "?" + k=v&...``: names sorted, ``_`` read as ``.``, values not encoded."""
    items = sorted((name.replace("_", "."), value) for name, value in params.items() if name != "Signature")
    return f"{method}{host}{path}?" + "&".join(f"{name}={value}" for name, value in items)


def v1_signature(secret_key: str, to_sign: str, signature_method: str) -> str:
    """Base64 of the HMAC of the string to sign, with SHA-1 or SHA-256 as ``signature_method`` says."""
    digest = hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), V1_DIGESTS[signature_method]).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_v1(
    *,
    method: str,
    host: str,
    path: str,
    params: Mapping[str, str],
    credentials: Mapping[str, Credentials],
    now: float | None = None,
) -> str:
    """Check one v1-signed request (its decoded parameters); return the SecretId or raise."""
    for name in ("SecretId", "Timestamp", "Nonce", "Signature"):
        if not params.get(name):
            raise SignatureError("MissingParameter", f"The request is missing a required parameter `{name}`.")
    signature_method = params.get("SignatureMethod") or "HmacSHA1"
    if signature_method not in V1_DIGESTS:
        raise SignatureError(
            "InvalidParameterValue", "SignatureMethod must be HmacSHA1 or HmacSHA256 (or use TC3-HMAC-SHA256)."
        )
    try:
        timestamp = int(params["Timestamp"])
        int(params["Nonce"])
    except ValueError:
        raise SignatureError("InvalidParameter", "Timestamp and Nonce must be integers.") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        raise SignatureError(
            "AuthFailure.SignatureExpire",
            "Request timestamp is more than 5 minutes from server time; check the clock.",
        )
    known = credentials.get(params["SecretId"])
    if known is None:
        raise SignatureError("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
    if (params.get("Token") or None) != known.token:
        raise SignatureError("AuthFailure.TokenFailure", "The token is missing, invalid or expired.")
    expected = v1_signature(known.secret_key, v1_string_to_sign(method, host, path, params), signature_method)
    if not hmac.compare_digest(expected.encode(), params["Signature"].encode()):
        raise SignatureError("AuthFailure.SignatureFailure", "The request signature does not match.")
    return params["SecretId"]
