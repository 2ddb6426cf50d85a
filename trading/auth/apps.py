from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AuthConfig(AppConfig):
    default = True
    name = "trading.auth"
    label = "trading_auth"
    verbose_name = "Sign-in"

    def ready(self) -> None:
        from trading.auth import signals  # noqa: F401 - connects the receivers


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """The admin, served by a site that asks staff for their second factor when REQUIRE_2FA is on."""

    default = False  # named explicitly in INSTALLED_APPS, in django.contrib.admin's place
    default_site = "trading.auth.admin_site.ConsoleAdminSite"
