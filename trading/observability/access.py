"""Who may read /metrics: a caller with an API token, or a process on this host.

- `Authorization: Bearer <token>`: any active API token (read-only ones too: metrics are a read),
  checked like the API's (trading/tokens.py). A wrong, revoked or non-bearer credential is a 401 at
  once — it never falls back to the localhost rule.
- No credential: allowed only from a loopback address *with no proxy header*. A reverse proxy on the
  same host forwards remote requests from 127.0.0.1, so a request carrying X-Forwarded-For, X-Real-IP
  or Forwarded is treated as remote (a proxy that adds none of them must not pass /metrics on).
- Anything else: 401 with a message that says what to send.

The rule reads a WSGI environ or Django's `request.META` (the same keys), so the web view and the
worker's own server share it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

UNAUTHORIZED = "unauthorized"
UNAVAILABLE = "unavailable"
MSG_NEED_TOKEN = (
    "metrics are served to localhost or with `Authorization: Bearer <API token>` "
    "(create one: python manage.py apitoken create --user USER --name prometheus --read-only)"
)
MSG_INVALID_TOKEN = "the API token is unknown, revoked, or its user is inactive"
MSG_NOT_BEARER = "only `Authorization: Bearer <API token>` is accepted here"
MSG_TOKEN_UNCHECKED = "the API token cannot be checked: the database is unavailable ({error})"
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_FORWARDED")


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    detail: str


def metrics_access(meta: Mapping[str, str]) -> Refusal | None:
    """None when the caller may read the metrics; else why not (status, code, message)."""
    header = meta.get("HTTP_AUTHORIZATION", "").strip()
    if header:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer":
            return Refusal(401, UNAUTHORIZED, MSG_NOT_BEARER)
        return _token_refusal(credential.strip())
    if request_is_local(meta):
        return None
    return Refusal(401, UNAUTHORIZED, MSG_NEED_TOKEN)


def request_is_local(meta: Mapping[str, str]) -> bool:
    if any(meta.get(name) for name in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(meta.get("REMOTE_ADDR", "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _token_refusal(plaintext: str) -> Refusal | None:
    from django.db import DatabaseError

    from trading.tokens import token_authenticate

    try:
        token = token_authenticate(plaintext)
    except DatabaseError as exc:
        return Refusal(503, UNAVAILABLE, MSG_TOKEN_UNCHECKED.format(error=type(exc).__name__))
    return None if token is not None else Refusal(401, UNAUTHORIZED, MSG_INVALID_TOKEN)
