"""Intents: list them with their parameter schemas; submit one (optionally waiting for its outcome)."""

from typing import Annotated, Any

from ninja import Body, Header, Query, Router, Status
from pydantic import StringConstraints

from trading.api.auth import WRITE
from trading.api.filters import WaitQuery
from trading.api.responses import responses
from trading.api.schemas import IntentOut, RunOut
from trading.api.submission import intent_submit
from trading.intents.registry import intent_list

router = Router(tags=["intents"])

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=150, pattern=r"^[\x21-\x7e]+$")]


@router.get("/intents", response=responses({200: list[IntentOut]}), summary="Intents with their parameter schemas")
def intents_list(request):
    return [intent_cls.describe() for intent_cls in intent_list()]


@router.post(
    "/intents/{name}",
    auth=WRITE,
    response=responses({200: RunOut, 202: RunOut}, 400, 403, 404, 409, 422, 503, 504),
    summary="Submit an intent",
    description=(
        "The body is the intent's parameters (the seed's names, `dryRun` included). 202 with the run when "
        "not waiting or not finished; 200 once it is final. A repeated `Idempotency-Key` returns the same run "
        "(409 if the body differs). With `wait`, 504 when the run is still going (its id is in the body)."
    ),
)
def intent_post(
    request,
    name: str,
    query: Query[WaitQuery],
    params: Annotated[dict[str, Any] | None, Body()] = None,
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="Idempotency-Key")] = None,
):
    submitted = intent_submit(
        principal=request.auth, intent=name, params=params, idempotency_key=idempotency_key, wait=query.wait
    )
    return Status(submitted.status_code, submitted.run)
