"""A URLconf with one seed-style alias to an intent that is not registered (the alias mechanism's 404)."""

from django.urls import path
from ninja import NinjaAPI, Router

from trading.api.errors import errors_install
from trading.api.routers.seed import seed_route_add

router = Router()
seed_route_add(router, "/not-installed", "not_installed")
api = NinjaAPI(urls_namespace="test-unregistered-alias", docs_url=None, openapi_url=None)
errors_install(api)
api.add_router("", router)

urlpatterns = [path("", api.urls)]
