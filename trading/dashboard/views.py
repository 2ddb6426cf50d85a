"""The dashboard page: a shell the browser fills from the websocket's snapshot and deltas."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from trading.auth.two_factor import (
    SETUP_REQUIRED,
    TOKEN_INVALID,
    token_device,
    token_refusal,
    totp_confirm,
    totp_pending_device,
    totp_qr_svg,
    two_factor_missing,
    user_has_two_factor,
)
from trading.clock import display_zone, zone_label
from trading.config import effective_config
from trading.selectors import accounts_known

# The performance page's range buttons: key (read by modules/performance.js), label.
RANGES = [("1w", "1 week"), ("1m", "1 month"), ("3m", "3 months"), ("ytd", "Year to date"), ("1y", "1 year"), ("all", "All")]
# Admin change URLs for a row are built in the browser from these, replacing the placeholder id.
PLACEHOLDER_ID = 987654321


@login_required(login_url="dashboard:login")
def dashboard(request: HttpRequest) -> HttpResponse:
    if two_factor_missing(request.user, request.session):
        return redirect("dashboard:two_factor")
    config = effective_config()
    urls = {
        "socket": "/ws/live/",
        "login": reverse("dashboard:login"),
        "placeholder": str(PLACEHOLDER_ID),
        "order": reverse("admin:trading_order_change", args=[PLACEHOLDER_ID]),
        "run": reverse("admin:trading_intentrun_change", args=[PLACEHOLDER_ID]),
        "fill": reverse("admin:trading_fill_change", args=[PLACEHOLDER_ID]),
        "activity": reverse("admin:trading_activityentry_change", args=[PLACEHOLDER_ID]),
    }
    context = {
        "mode": config.mode,
        "kill_switch": not config.trading_enabled,
        "soft_stop": config.soft_stop,
        "urls": urls,
        "time_zone": config.display_time_zone,  # the page shows every time in this zone (core.js `clock`)
        "time_zone_label": zone_label(),
    }
    return render(request, "dashboard/index.html", context)


@login_required(login_url="dashboard:login")
def performance(request: HttpRequest) -> HttpResponse:
    """The performance page: a shell; modules/performance.js reads /api/performance and its equity curve."""
    if two_factor_missing(request.user, request.session):
        return redirect("dashboard:two_factor")
    urls = {
        "performance": reverse("api:performance_get"),
        "equity": reverse("api:performance_equity"),
        "live": reverse("dashboard:index"),
        "login": reverse("dashboard:login"),
    }
    mode = effective_config().mode
    context = {"mode": mode, "zone": str(display_zone()), "urls": urls, "ranges": RANGES, "accounts": accounts_known(mode=mode)}
    return render(request, "dashboard/performance.html", context)


@login_required(login_url="dashboard:login")
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify this session with an authenticator code, or set up the first device (QR code, then its
    first code confirms it). Reached when REQUIRE_2FA asks a staff session for its second factor."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    if not two_factor_missing(request.user, request.session):
        return redirect(next_url or "dashboard:index")
    has_device = user_has_two_factor(request.user)
    error = ""
    if request.method == "POST":
        token = request.POST.get("otp_token", "")
        error = token_refusal(request.user, confirmed=has_device)
        device = None if error else token_device(request.user, token) if has_device else totp_confirm(request.user, token)
        if device is not None:
            otp_login(request, device)
            return redirect(next_url or "dashboard:index")
        error = error or TOKEN_INVALID
    context = {"error": error, "next": next_url, "has_device": has_device, "message": SETUP_REQUIRED}
    if not has_device:
        device = totp_pending_device(request.user)
        context.update(qr_svg=totp_qr_svg(device), secret=_base32(device.bin_key))
    return render(request, "dashboard/two_factor.html", context, status=400 if error else 200)


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode().rstrip("=")
