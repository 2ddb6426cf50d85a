"""Receivers: a lockout goes to the activity log; a logout closes that session's sockets."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from trading.activity import activity_record
from trading.auth.lockout import lockout_minutes
from trading.auth.sessions import session_sockets_close
from trading.models import ActivityKind
from trading.models.activity import Severity

LOCKOUT_RECORDED = "sign-in locked out for {minutes} min: {username!r} from {ip} after {limit} failed attempts ({path})"


@receiver(user_locked_out, dispatch_uid="trading.auth.lockout_record")
def lockout_record(sender, request, username, ip_address, **kwargs) -> None:
    from django.conf import settings

    activity_record(
        kind=ActivityKind.AUTH,
        severity=Severity.WARNING,
        message=LOCKOUT_RECORDED.format(
            minutes=lockout_minutes(),
            username=username,
            ip=ip_address,
            limit=settings.AXES_FAILURE_LIMIT,
            path=getattr(request, "path", ""),
        ),
        actor=get_user_model().objects.filter(username=username).first() if username else None,
        payload={"username": username, "ip_address": ip_address, "path": getattr(request, "path", "")},
    )


@receiver(user_logged_out, dispatch_uid="trading.auth.sockets_close")
def sockets_close_on_logout(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    session_sockets_close(getattr(session, "session_key", None))
