"""A signed-in session and the sockets opened under it: one Channels group per session, closed when
the session ends, and the check every socket command runs first (the session still exists, still
belongs to that user, the password has not changed since, the user is still active, and the second
factor is there when required)."""

from __future__ import annotations

import logging
from importlib import import_module

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from trading.auth.two_factor import two_factor_missing
from trading.live import session_group

log = logging.getLogger("trading.auth")

SESSION_ENDED = "session.ended"  # the channel message type; the consumer's `session_ended` handles it


def session_sockets_close(session_key: str | None) -> None:
    """Tell every socket of this session to close. Best effort: a socket that misses the message (the
    channel layer down) is refused at its next command by `session_user_current`."""
    if not session_key:
        return
    try:
        async_to_sync(get_channel_layer().group_send)(session_group(session_key), {"type": SESSION_ENDED})
    except Exception as exc:
        log.warning("sockets of an ended session not told to close: %s: %s", type(exc).__name__, exc)


def session_user_current(session_key: str | None, user_id) -> bool:
    """Whether the stored session still signs this user in (read fresh from the session store)."""
    if not session_key:
        return False
    data = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key).load()
    if str(data.get(SESSION_KEY)) != str(user_id):
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    stored_hash = data.get(HASH_SESSION_KEY) or ""
    if not constant_time_compare(stored_hash, user.get_session_auth_hash()):
        return False
    return not two_factor_missing(user, data)
