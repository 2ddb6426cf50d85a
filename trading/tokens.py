"""API tokens: created with their plaintext shown once, stored hashed, checked, revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from trading.dbreads import ModelRead
from trading.models import ApiToken

TOKEN_PREFIX = "ibc_"


def token_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def token_create(*, user, name: str, read_only: bool = False) -> tuple[ApiToken, str]:
    """A new token for `user`; the plaintext is returned once and never stored."""
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plaintext[:10], token_hash=token_hash(plaintext), read_only=read_only
    )
    return token, plaintext


LAST_USED_RESOLUTION = timedelta(minutes=1)  # how fresh a token's `last_used_at` is kept


# The token of a hash, not revoked, of an active user, with that user: the ORM's
# ApiToken.objects.select_related("user").filter(token_hash=…, revoked_at__isnull=True, user__is_active=True),
# its SQL written once (every API request checks a token: trading/dbreads.py). token_hash is unique.
_ACTIVE_TOKEN = ModelRead(ApiToken, related="user", where="t.token_hash = %s AND t.revoked_at IS NULL AND r.is_active = %s", limit=1)


def token_authenticate(plaintext: str) -> ApiToken | None:
    """The active token matching `plaintext` (its user active too), recording its use; else None."""
    if not plaintext or not plaintext.startswith(TOKEN_PREFIX):
        return None
    found = _ACTIVE_TOKEN([token_hash(plaintext), True])
    if not found:
        return None
    [token] = found
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # One write a minute at most: a script calling every second must not pay a commit per call.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
