"""The NinjaAPI instances: `api` under /api/ (docs at /api/docs), `seed_api` for the seed's root paths."""

from ninja import NinjaAPI

from trading.api.auth import READ, docs_guard
from trading.api.errors import errors_install
from trading.api.routers import backtests, config, intents, orders, performance, records, runs, seed, status, webhook

DESCRIPTION = """
Drive the IB trading console from scripts, cron jobs and webhooks.

Authenticate with `Authorization: Bearer <token>` (create one with `manage.py apitoken create` or in
the admin). Every failure answers `{"error": code, "detail": message}`. See docs/API.md.
"""


class ConsoleAPI(NinjaAPI):
    def get_operation_id(self, operation) -> str:
        return operation.view_func.__name__  # `intent_post`, not `trading_api_routers_intents_intent_post`

    def _get_bound_routers(self):
        first_build = self._bound_routers_cache is None
        routers = super()._get_bound_routers()
        if first_build:
            paths_merge(routers)
        return routers


def paths_merge(routers) -> None:
    """Let two routers serve one path (records lists GET /orders, orders places POST /orders).

    Ninja turns each router's path into its own Django URL pattern, and Django dispatches a path to the
    first pattern only: the second router's methods would answer 405. So the first router's view of the
    path takes every operation for it, and the later router's copy is dropped (the docs list both).
    """
    owner = {}
    for router in routers:
        for path in list(router.path_operations):
            full = "/".join(part for part in (router.prefix, path) if part).strip("/")
            if full not in owner:
                owner[full] = router.path_operations[path]
                continue
            view = owner[full]
            moved = router.path_operations.pop(path)
            view.operations.extend(moved.operations)
            view.is_async = view.is_async or moved.is_async


api = ConsoleAPI(
    title="IB trading console",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=READ,
    docs_decorator=docs_guard,
)
errors_install(api)
for module in (status, intents, runs, records, orders, config, webhook, performance, backtests):
    api.add_router("", module.router)

seed_api = NinjaAPI(
    title="IB trading console (seed paths)", version="seed", urls_namespace="seed", openapi_url=None, docs_url=None
)
errors_install(seed_api)
seed_api.add_router("", seed.router)
