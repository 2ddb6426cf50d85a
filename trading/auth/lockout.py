"""What a locked-out sign-in sees (django-axes' AXES_LOCKOUT_CALLABLE): a page saying so and for how
long, with axes' status code (429), on the admin's and the dashboard's login forms alike."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

LOCKED_OUT = "Too many failed sign-ins for {username} from this address: locked out for {minutes} minutes."


def client_ip(request) -> str:
    """The address a lockout is counted against (AXES_CLIENT_IP_CALLABLE). Behind LOGIN_PROXY_COUNT
    reverse proxies that each append to X-Forwarded-For, it is the entry the outermost one appended:
    entries further left are whatever the client sent, so trusting them would let an attacker pick a
    new address for every guess."""
    count = settings.LOGIN_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if count and len(forwarded) >= count:
        return forwarded[-count][:64]
    return request.META.get("REMOTE_ADDR", "")


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request, *args, **kwargs):
    """axes calls this as (request, response, credentials) or, on its async path, (request, credentials)."""
    from axes.helpers import get_client_username

    credentials = getattr(request, "axes_credentials", None)
    username = get_client_username(request, credentials) or "this user"
    context = {"message": LOCKED_OUT.format(username=username, minutes=lockout_minutes()), "minutes": lockout_minutes()}
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
