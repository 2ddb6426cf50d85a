"""What an intent is: a name, a typed parameter schema, an async body run on the worker's loop.

    from trading.intents import Intent, IntentParams, intent_register

    @intent_register
    class Hello(Intent):
        name = "hello"
        description = "Say hello; places nothing."
        requires_ib = False

        class Params(IntentParams):
            who: str = "world"

        async def run(self, ctx, params):
            return {"greeting": f"hello {params.who}"}

Parameters keep the seed's JSON names through aliases (`dryRun`, `freshMinutes`, `runReconcile`,
`strategy_id`), so the seed's callers work unchanged; snake_case names are accepted too.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class IntentParams(BaseModel):
    """Base for parameter schemas: unknown parameters are errors, seed aliases and snake_case both work."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class Intent:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[IntentParams]] = IntentParams
    timeout: ClassVar[float] = 120.0  # seconds the body may run on the worker
    start_within: ClassVar[float] = 60.0  # seconds a queued run may wait to start before it expires
    requires_ib: ClassVar[bool] = True
    # Sends orders that only reduce risk, so the kill switch does not stop it (close_all, cancels).
    allowed_when_killed: ClassVar[bool] = False
    places_orders: ClassVar[bool] = False
    # Reads and changes nothing (no orders, no settings, no records of its own): its body may start before
    # the claim, which is then recorded with the outcome in one commit (executor: `_run_then_claim`).
    reads_only: ClassVar[bool] = False

    async def run(self, ctx, params: IntentParams) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def check(cls, params: IntentParams) -> list[dict]:
        """Checks that need the database, at submission (e.g. unknown strategy); errors like pydantic's."""
        return []

    @classmethod
    def params_schema(cls) -> dict:
        return cls.Params.model_json_schema(by_alias=True)

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.name,
            "description": cls.description,
            "params": cls.params_schema(),
            "timeout": cls.timeout,
            "places_orders": cls.places_orders,
            "allowed_when_killed": cls.allowed_when_killed,
        }
