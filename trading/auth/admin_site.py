"""The admin site: Django's, plus the second factor for staff when REQUIRE_2FA is on (like
django-otp's OTPAdminSite, but only when required, and sending a staff user without a device to set
one up rather than showing a bare login form again)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.shortcuts import redirect
from django.urls import reverse

from trading.auth.forms import ConsoleAdminLoginForm
from trading.auth.two_factor import two_factor_missing

# The index opens on what a trader sets, then what the console did; the rest follows alphabetically.
FIRST_APP = "trading"
FIRST_MODELS = ("TradingConfig", "Strategy", "IntentRun", "Order", "Fill", "Position", "ActivityEntry")


class ConsoleAdminSite(AdminSite):
    login_form = ConsoleAdminLoginForm
    # The model sidebar takes 300 px of a 1280 px screen from the record lists; the index and the
    # breadcrumbs lead to every list instead.
    enable_nav_sidebar = False

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not two_factor_missing(request.user, request.session)

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and two_factor_missing(user, request.session):
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(f"{reverse('dashboard:two_factor')}?{urlencode({'next': next_url})}")
        return super().login(request, extra_context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        apps.sort(key=lambda app: app["app_label"] != FIRST_APP)  # stable: the others keep Django's order
        for app in apps:
            if app["app_label"] == FIRST_APP:
                app["models"].sort(key=_model_rank)
        return apps


def _model_rank(model: dict) -> int:
    name = model["object_name"]
    return FIRST_MODELS.index(name) if name in FIRST_MODELS else len(FIRST_MODELS)
