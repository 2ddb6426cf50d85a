"""The dashboard page: a shell the browser fills from the websocket's snapshot and deltas."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from trading.config import effective_config

# Admin change URLs for a row are built in the browser from these, replacing the placeholder id.
PLACEHOLDER_ID = 987654321


@login_required(login_url="dashboard:login")
def dashboard(request: HttpRequest) -> HttpResponse:
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
    context = {"mode": config.mode, "kill_switch": not config.trading_enabled, "soft_stop": config.soft_stop, "urls": urls}
    return render(request, "dashboard/index.html", context)
