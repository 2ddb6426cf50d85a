"""The NinjaAPI instances: `api` under /api/ (docs at /api/docs), `seed_api` for the seed's root paths."""

from ninja import NinjaAPI

from trading.api.auth import READ, docs_guard
from trading.api.errors import errors_install
from trading.api.routers import config, intents, records, runs, seed, status, webhook

DESCRIPTION = """
Drive the IB trading console from scripts, cron jobs and webhooks.

Authenticate with `Authorization: Bearer <token>` (create one with `manage.py apitoken create` or in
the admin). Every failure answers `{"error": code, "detail": message}`. See docs/API.md.
"""


class ConsoleAPI(NinjaAPI):
    def get_operation_id(self, operation) -> str:
        return operation.view_func.__name__  # `intent_post`, not `trading_api_routers_intents_intent_post`


api = ConsoleAPI(
    title="IB trading console",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=READ,
    docs_decorator=docs_guard,
)
errors_install(api)
for module in (status, intents, runs, records, config, webhook):
    api.add_router("", module.router)

seed_api = NinjaAPI(
    title="IB trading console (seed paths)", version="seed", urls_namespace="seed", openapi_url=None, docs_url=None
)
errors_install(seed_api)
seed_api.add_router("", seed.router)
