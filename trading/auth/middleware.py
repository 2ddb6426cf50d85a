"""With REQUIRE_2FA, a staff session without its second factor reaches only the pages that let it get
one (the two-factor page, login, logout, static files): one gate for the admin, the dashboard and the
API's session auth alike (API tokens carry no session and are not affected)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from trading.auth.two_factor import SETUP_REQUIRED, two_factor_missing

TWO_FACTOR_REQUIRED = "two_factor_required"


class TwoFactorRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.REQUIRE_2FA
            and user is not None
            and user.is_authenticated
            and not self._open(request.path)
            and two_factor_missing(user, request.session)
        ):
            return self._refuse(request)
        return self.get_response(request)

    @staticmethod
    def _open(path: str) -> bool:
        open_paths = {
            reverse(name)
            for name in ("dashboard:two_factor", "dashboard:login", "dashboard:logout", "admin:login", "admin:logout")
        }
        return path in open_paths or path.startswith("/" + settings.STATIC_URL.lstrip("/"))

    @staticmethod
    def _refuse(request):
        if request.path.startswith("/api/"):
            from trading.api.errors import error_json

            return error_json(403, TWO_FACTOR_REQUIRED, SETUP_REQUIRED)
        return redirect(f"{reverse('dashboard:two_factor')}?{urlencode({'next': request.get_full_path()})}")
