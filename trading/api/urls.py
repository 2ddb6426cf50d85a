"""URL patterns under /api/: the ninja API, then a catch-all so unknown routes answer in the error shape."""

from django.urls import path, re_path

from trading.api.api import api
from trading.api.errors import json_method_not_allowed, route_not_found


def json_405(patterns: list) -> list:
    """Error-shaped 405s; ninja's root view (kept by name: ninja reverses it for the schema) answers 404."""
    for pattern in patterns:
        root = pattern.name == "api-root"
        pattern.callback = route_not_found if root else json_method_not_allowed(pattern.callback)
    return patterns


_patterns, _app_name, _namespace = api.urls
urlpatterns = [
    path("", (json_405(_patterns), _app_name, _namespace)),
    re_path(r"", route_not_found, name="api_not_found"),
]
