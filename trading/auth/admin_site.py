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


class ConsoleAdminSite(AdminSite):
    login_form = ConsoleAdminLoginForm

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and not two_factor_missing(request.user, request.session)

    def login(self, request, extra_context=None):
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and two_factor_missing(user, request.session):
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(f"{reverse('dashboard:two_factor')}?{urlencode({'next': next_url})}")
        return super().login(request, extra_context)
