"""The seed's paths at the site root (`/summary`, `/close-all`, …): see routers/seed.py."""

from trading.api.api import seed_api
from trading.api.urls import json_405

urlpatterns = json_405([pattern for pattern in seed_api.urls[0] if pattern.name != "api-root"])
