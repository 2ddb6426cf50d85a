"""Where messages go: enabled admin targets (rows) and NOTIFY_URLS (every kind, no admin step).

An apprise URL is its own secret (a bot token as the host, a webhook key as the path, a password), so
outside this module it travels only as a `Target` and is shown through `url_mask`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from trading.models import NotifyTarget


@dataclass(frozen=True)
class Target:
    key: str  # db:<id> or env:<hash>: what sends and the rate limit are keyed by
    label: str  # masked: safe to show and log
    url: str
    target_id: int | None = None


def url_mask(url: str) -> str:
    """Scheme and host only; a host that is not a hostname (a bot token, a topic) shows two characters."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host and not _is_hostname(host):
        host = host[:2] + "…"
    port = f":{parts.port}" if _port(parts) else ""
    rest = "/…" if (parts.path.strip("/") or parts.query or parts.username or parts.password) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def _is_hostname(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host == "localhost" or ("." in host and re.fullmatch(r"[a-z0-9.-]+", host) is not None)


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def secret_scrub(text: str, url: str) -> str:
    """`text` (an error from apprise or a service) with every piece of `url` longer than 3 characters
    replaced, so a token echoed back in an error never reaches the send record or a log."""
    pieces = {url, *re.split(r"[/:@?&=#]+", url.split("://", 1)[-1])}
    for piece in sorted((p for p in pieces if len(p) > 3), key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def env_key(url: str) -> str:
    return "env:" + hashlib.sha256(url.encode()).hexdigest()[:16]


def env_targets() -> list[Target]:
    return [
        Target(key=env_key(url), label=f"NOTIFY_URLS #{n} {url_mask(url)}", url=url)
        for n, url in enumerate(settings.NOTIFY_URLS, start=1)
    ]


def db_target(row: NotifyTarget) -> Target:
    return Target(key=f"db:{row.pk}", label=f"{row.name} ({url_mask(row.url)})"[:200], url=row.url, target_id=row.pk)


def target_list(kind: str) -> list[Target]:
    """Every target that receives `kind`: NOTIFY_URLS, then the enabled rows subscribed to it."""
    rows = [row for row in NotifyTarget.objects.filter(enabled=True) if kind in (row.kinds or [])]
    return [*env_targets(), *(db_target(row) for row in rows)]


def target_get(key: str) -> Target | None:
    """The target a send was made for, as configured now (None: removed, or its NOTIFY_URLS item gone)."""
    if key.startswith("db:"):
        row = NotifyTarget.objects.filter(pk=int(key[3:])).first()
        return db_target(row) if row is not None else None
    return next((target for target in env_targets() if target.key == key), None)
