"""The seed's paths (`GET /summary`, `POST /close-all`, …) as thin aliases of the submission path.

The seed answered with the outcome, so an alias waits for it (60 s, or `?wait=`); unlike the seed, a
run still going then answers 504 with its id instead of a 500 while orders keep going. Token auth only,
as in the seed. An alias whose intent is not registered answers 404 `unknown_intent`.
"""

from typing import Annotated, Any

from ninja import Body, Field, Header, Query, Router, Schema, Status

from trading.api.auth import BearerToken, Need
from trading.api.filters import MAX_WAIT
from trading.api.responses import responses
from trading.api.routers.intents import IdempotencyKey
from trading.api.schemas import RunOut
from trading.api.submission import intent_submit

SEED_WAIT = 60.0
SEED_PATHS = {
    "/summary": "summary",
    "/close-all": "close_all",
    "/cash-balancer": "cash_balancer",
    "/trade-reconciliation": "trade_reconciliation",
    "/reconcile": "reconcile",
    "/allocation": "allocation",
    "/orchestrator": "orchestrator",
    "/testsignalgenerator": "testsignalgenerator",
}
GET_TOO = {"summary"}  # the seed read its summary with GET

router = Router(tags=["seed"])


class SeedWait(Schema):
    wait: float = Field(SEED_WAIT, ge=0, le=MAX_WAIT, allow_inf_nan=False)


def _alias(intent: str):
    def submit(
        request,
        query: Query[SeedWait],
        params: Annotated[dict[str, Any] | None, Body()] = None,
        idempotency_key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
    ):
        submitted = intent_submit(
            principal=request.auth, intent=intent, params=params, idempotency_key=idempotency_key, wait=query.wait
        )
        return Status(submitted.status_code, submitted.run)

    submit.__name__ = f"seed_{intent}"
    return submit


def seed_route_add(router: Router, path: str, intent: str) -> None:
    """Mount `path` as an alias of `intent` (a name only: the registry is asked at each request)."""
    router.add_api_operation(
        path,
        ["GET", "POST"] if intent in GET_TOO else ["POST"],
        _alias(intent),
        auth=[BearerToken(Need.WRITE)],
        response=responses({200: RunOut, 202: RunOut}, 400, 404, 409, 503, 504),
        url_name=f"seed_{intent}",
    )


for _path, _intent in SEED_PATHS.items():
    seed_route_add(router, _path, _intent)
