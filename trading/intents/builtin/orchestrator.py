"""`orchestrator`: strategies, then reconcile, then allocation — in order, in this one run.

Each step runs the intent's body in-process (no new runs), sharing this run's context: its dry-run flag,
its order gateway and its record. A step that fails is reported in the result (status, error) and the
next steps still run, as in the seed; the run itself succeeds with `partial: true`. A failed strategy
simply has no fresh target, so the allocation keeps what it holds.

Which intent runs a strategy: `Strategy.params["intent"]` when set, else the intent named like the
strategy; the strategy's other params are passed to that intent (with `strategy_id`).
"""

from __future__ import annotations

import asyncio
import logging

from pydantic import Field, ValidationError

from trading.intents.base import Intent, IntentParams
from trading.intents.builtin.allocation import DEFAULT_FRESH_MINUTES, Allocation
from trading.intents.builtin.reconcile import Reconcile
from trading.intents.context import IntentError
from trading.intents.registry import IntentNotFound, intent_get, intent_register
from trading.intents.strategy import StrategyIntent, strategies_unknown
from trading.models import Strategy

NOT_A_STRATEGY = "intent {intent!r} is not a strategy intent (it does not publish targets)"
SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"
log = logging.getLogger("trading.intents.orchestrator")


@intent_register
class Orchestrator(Intent):
    name = "orchestrator"
    description = "Run strategies (default: the enabled ones), then reconcile, then allocation; each step reported."
    places_orders = True
    timeout = 300.0

    class Params(IntentParams):
        strategies: list[str] | None = Field(None, description="Strategies to run (default: every enabled strategy).")
        fresh_minutes: int = Field(DEFAULT_FRESH_MINUTES, alias="freshMinutes", ge=1)
        run_reconcile: bool = Field(True, alias="runReconcile")

    @classmethod
    def check(cls, params) -> list[dict]:
        return strategies_unknown(params.strategies)

    async def run(self, ctx, params):
        strategies = await ctx.db(_strategies_to_run, params.strategies)
        steps = [await self._strategy_step(ctx, strategy) for strategy in strategies]
        if params.run_reconcile:
            steps.append(await _step(ctx, "reconcile", Reconcile, {}))
        else:
            steps.append({"step": "reconcile", "status": SKIPPED})
        allocation = {"freshMinutes": params.fresh_minutes, "strategies": params.strategies}
        steps.append(await _step(ctx, "allocation", Allocation, allocation))
        failed = [s["step"] for s in steps if s["status"] == FAILED]
        await ctx.log(f"{len(steps)} step(s), {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
        return {"steps": steps, "partial": bool(failed), "failed": failed, "dry_run": ctx.dry_run}

    async def _strategy_step(self, ctx, strategy: Strategy) -> dict:
        params = dict(strategy.params or {})
        intent_name = params.pop("intent", strategy.strategy_id)
        label = f"strategy:{strategy.strategy_id}"
        try:
            intent_cls = intent_get(intent_name)
        except IntentNotFound as exc:
            return {"step": label, "intent": intent_name, "status": FAILED, "error": str(exc)}
        if not issubclass(intent_cls, StrategyIntent):
            return {"step": label, "intent": intent_name, "status": FAILED, "error": NOT_A_STRATEGY.format(intent=intent_name)}
        return await _step(ctx, label, intent_cls, {**params, "strategy_id": strategy.strategy_id})


def _strategies_to_run(names: list[str] | None) -> list[Strategy]:
    if names:
        found = {s.strategy_id: s for s in Strategy.objects.filter(strategy_id__in=names)}
        return [found[name] for name in names if name in found]
    return list(Strategy.objects.filter(enabled=True).order_by("strategy_id"))


async def _step(ctx, label: str, intent_cls, raw_params: dict) -> dict:
    """Run one intent's body in this run; its failure becomes the step's status, never an exception."""
    step = {"step": label, "intent": intent_cls.name}
    try:
        params = intent_cls.Params.model_validate(raw_params)
        result = await asyncio.wait_for(intent_cls().run(ctx, params), timeout=intent_cls.timeout)
    except ValidationError as exc:
        error = "bad parameters: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    except TimeoutError:
        error = f"timed out after {intent_cls.timeout:.0f}s"
    except IntentError as exc:
        error = str(exc)
    except Exception as exc:
        log.exception("run #%s step %s raised", ctx.run.pk, label)
        error = f"{type(exc).__name__}: {exc}"
    else:
        return {**step, "status": SUCCEEDED, "result": result}
    await ctx.log(f"step {label} failed: {error}")
    return {**step, "status": FAILED, "error": error}
