"""`allocation` (the seed's commander): turn strategies' fresh targets into orders, and record why.

Sums the fresh (within `freshMinutes`), successful targets of enabled strategies per contract, then
places delta = target − (IB position + in-flight open orders) as one order per contract, of the
settings' default type (market, or a limit priced from the quote). The rules — who keeps what, which positions are never touched, who owns an order — are in
trading/intents/allocation_plan.py. Every run records an AllocationDecision (inputs, aggregate, diff,
orders, notes); a dry run records planned orders and a decision marked dry_run.

The seed's commander market-sold every holding no strategy targeted, manual positions included: here
such positions are left alone unless `flatten_unowned_positions` is on.

Under soft stop a target that would flip a position closes it to flat instead (allocation_plan.py,
`soft_stop_clamp`); the order gateway still checks every order.

The orders go as one batch of the order gateway (`place_batch`: rows in one commit, the switches read
again before each order). Then the run waits (up to ACK_WAIT) for IB's first answer to each: an order
IB refused or did not answer fails the run with IB's reason, rather than the run reporting success.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from pydantic import Field

from trading.iblib import Contract
from trading.intents.allocation_plan import (
    DISABLED,
    FAILED,
    FRESH,
    MISSING,
    NOT_SELECTED,
    STALE,
    StrategyInput,
    allocation_plan,
    soft_stop_clamp,
)
from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.orders import OrderRefused, PlacedOrder
from trading.intents.registry import intent_register
from trading.intents.strategy import strategies_unknown, target_latest
from trading.intents.trade_wait import trades_wait
from trading.models import AllocationDecision, Holding, Strategy, TargetStatus
from trading.selectors import holding_quantities
from trading.worker.snapshots import contract_fields

DEFAULT_FRESH_MINUTES = 180  # the seed's default
REFUSED = "{count} of {total} order(s) refused (decision #{decision}): {reasons}"


@intent_register
class Allocation(Intent):
    name = "allocation"
    description = "Sum enabled strategies' fresh targets, subtract positions and open orders, place the difference."
    places_orders = True
    timeout = 120.0

    class Params(IntentParams):
        fresh_minutes: int = Field(
            DEFAULT_FRESH_MINUTES, alias="freshMinutes", ge=1, description="Targets older than this are stale."
        )
        strategies: list[str] | None = Field(None, description="Allocate only these strategies (the others keep what they hold).")

    @classmethod
    def check(cls, params) -> list[dict]:
        return strategies_unknown(params.strategies)

    async def run(self, ctx, params):
        await ctx.flush_records()  # holdings reflect every fill seen so far
        strategies = await ctx.db(
            allocation_inputs, mode=ctx.mode, selected=params.strategies, include_dry_runs=ctx.dry_run,
            fresh_minutes=params.fresh_minutes, now=timezone.now(), account=ctx.account,
        )  # fmt: skip
        contracts = await _contracts_of_targets(ctx, strategies)
        await ctx.ib.reqAllOpenOrdersAsync()
        positions = {}
        for position in await ctx.ib.reqPositionsAsync():
            if position.position and (not ctx.account or position.account == ctx.account):
                positions[position.contract.conId] = float(position.position)
                contracts.setdefault(position.contract.conId, contract_fields(position.contract))
        in_flight = in_flight_quantities(ctx.ib.openTrades(), ctx.account)
        plan = allocation_plan(
            strategies=strategies, positions=positions, in_flight=in_flight, contracts=contracts,
            flatten_unowned=ctx.config.flatten_unowned_positions,
        )  # fmt: skip
        if (await ctx.fresh_config()).soft_stop:
            plan.notes[:0] = soft_stop_clamp(plan.diff)
        orders, refusals = await _place(ctx, plan.diff, contracts)
        decision = await ctx.db(
            AllocationDecision.objects.create,
            run=ctx.run,
            mode=ctx.mode,
            dry_run=ctx.dry_run,
            inputs={
                "fresh_minutes": params.fresh_minutes,
                "selected": params.strategies,
                "strategies": [s.as_dict() for s in strategies],
                "positions": [{"con_id": c, "quantity": q} for c, q in sorted(positions.items())],
                "in_flight": [{"con_id": c, "quantity": q} for c, q in sorted(in_flight.items())],
            },
            aggregate=plan.aggregate,
            diff=plan.diff,
            orders=orders,
            notes=plan.notes,
        )
        sent = sum(1 for o in orders if "refused" not in o)
        await ctx.log(
            f"decision #{decision.pk}: {len(plan.diff)} contract(s), {sent} order(s){' planned' if ctx.dry_run else ''}"
        )
        if refusals:
            raise IntentError(
                REFUSED.format(count=len(refusals), total=len(orders), decision=decision.pk, reasons="; ".join(refusals))
            )
        by_status = {
            status: [s.strategy_id for s in strategies if s.status == status]
            for status in (FRESH, STALE, MISSING, FAILED, DISABLED, NOT_SELECTED)
        }
        return {
            "decision": decision.pk,
            "dry_run": ctx.dry_run,
            "strategies": by_status,
            "missing": by_status[MISSING],
            "stale": by_status[STALE],
            "aggregate": plan.aggregate,
            "diff": plan.diff,
            "notes": plan.notes,
            "orders": orders,
        }


def allocation_inputs(
    *,
    mode: str,
    selected: list[str] | None,
    include_dry_runs: bool,
    fresh_minutes: int,
    now: dt.datetime,
    account: str = "",
) -> list[StrategyInput]:
    """Every strategy with its status, its newest target (when fresh) and its recorded holdings in the
    run's account."""
    holdings = {
        strategy: {con_id: float(quantity) for con_id, quantity in held.items()}
        for strategy, held in holding_quantities(mode=mode, account=account).items()
    }
    inputs = []
    for strategy in Strategy.objects.order_by("strategy_id"):
        item = StrategyInput(strategy.strategy_id, FRESH, holdings=holdings.get(strategy.strategy_id, {}))
        if not strategy.enabled:
            item.status = DISABLED
        elif selected and strategy.strategy_id not in selected:
            item.status = NOT_SELECTED
        else:
            target = target_latest(strategy_id=strategy.strategy_id, mode=mode, include_dry_runs=include_dry_runs)
            if target is None:
                item.status = MISSING
            else:
                item.target_id, item.updated_at = target.pk, target.updated_at.isoformat()
                item.age_minutes = (now - target.updated_at).total_seconds() / 60
                if target.status != TargetStatus.SUCCESS:
                    item.status = FAILED
                elif item.age_minutes > fresh_minutes:
                    item.status = STALE
                else:
                    item.rows = [dict(row) for row in target.rows]
        inputs.append(item)
    return inputs


async def _contracts_of_targets(ctx, strategies: list[StrategyInput]) -> dict[int, dict]:
    """Contract details per conId from the rows (qualifying rows a strategy published without a conId)."""
    contracts: dict[int, dict] = {}
    for strategy in strategies:
        for row in strategy.rows:
            if not row.get("con_id"):
                contract = Contract(
                    symbol=row["symbol"], secType=row.get("sec_type") or "STK",
                    exchange=row.get("exchange") or "SMART", currency=row.get("currency") or "USD",
                )  # fmt: skip
                await ctx.qualify(contract)
                row["con_id"] = contract.conId
            contracts.setdefault(int(row["con_id"]), {k: row.get(k) for k in ("symbol", "sec_type", "exchange", "currency")})
    holdings = {con_id for s in strategies for con_id in s.holdings}
    missing = holdings - set(contracts)
    if missing:
        rows = await ctx.db(
            lambda: list(
                Holding.objects.filter(mode=ctx.mode, con_id__in=missing).values(
                    "con_id", "symbol", "sec_type", "exchange", "currency"
                )
            )
        )
        for row in rows:
            contracts.setdefault(row["con_id"], row)
    return contracts


def in_flight_quantities(trades, account: str) -> dict[int, float]:
    """Signed quantity still to fill on open orders, per conId (every client's, TWS's included)."""
    out: dict[int, float] = {}
    for trade in trades:
        if account and trade.order.account and trade.order.account != account:
            continue
        remaining = float(trade.order.totalQuantity) - float(trade.filled())
        if remaining > 0:
            signed = remaining if trade.order.action == "BUY" else -remaining
            out[trade.contract.conId] = out.get(trade.contract.conId, 0.0) + signed
    return out


async def _place(ctx, diff: list[dict], contracts: dict[int, dict]) -> tuple[list[dict], list[str]]:
    """One order per contract, as one batch of the order gateway (rows in one commit, the switches read
    again before each order goes)."""
    lines = [line for line in diff if line["quantity"]]
    items = []
    for line in lines:
        info = contracts.get(line["con_id"], {})
        contract = Contract(
            conId=line["con_id"], symbol=line["symbol"], secType=line["sec_type"], currency=line["currency"],
            exchange="IDEALPRO" if line["sec_type"] == "CASH" else "SMART",
        )  # fmt: skip
        if line["sec_type"] == "CASH":
            contract.localSymbol = info.get("local_symbol", "")
        items.append((contract, line["action"], line["quantity"], line["owner"]))
    outcomes = await ctx.orders.place_batch(items)
    answers = await _ib_answers(outcomes)
    orders, refusals = [], []
    for line, outcome in zip(lines, outcomes, strict=True):
        if not isinstance(outcome, Exception) and outcome.trade is not None and id(outcome.trade) in answers:
            outcome = OrderRefused(answers[id(outcome.trade)])
        if isinstance(outcome, Exception):
            refusals.append(f"{line['action']} {line['quantity']:g} {line['symbol']}: {outcome}")
            orders.append(
                {
                    "symbol": line["symbol"],
                    "action": line["action"],
                    "quantity": line["quantity"],
                    "owner": line["owner"],
                    "refused": str(outcome),
                }
            )
            continue
        orders.append({**outcome.as_dict(), "owner": line["owner"]})
    return orders, refusals


ACK_WAIT = 10.0  # seconds the allocation waits for IB's first answer to each order it sent
NOT_ACKNOWLEDGED = "IB did not answer within {seconds:g}s (the order may still reach it: see the orders page)"
IB_REFUSED = "IB refused it ({status}): {reason}"
PENDING = ("PendingSubmit", "ApiPending", "")


async def _ib_answers(outcomes: list) -> dict:
    """Wait (on IB's status events) until IB has answered every order sent: accepted, or refused —
    a refusal (margin, permissions, a closed market) then fails the run with IB's reason instead of
    reporting success for an order IB never took. Returns {id(trade): why} for the refused and unanswered
    (an ib_insync Trade is a dataclass: not hashable)."""
    trades = [o.trade for o in outcomes if isinstance(o, PlacedOrder) and o.trade is not None]
    unanswered = await trades_wait(trades, lambda t: t.orderStatus.status not in PENDING or t.isDone(), ACK_WAIT)
    out = {id(trade): NOT_ACKNOWLEDGED.format(seconds=ACK_WAIT) for trade in unanswered}
    for trade in trades:
        status = trade.orderStatus.status
        if id(trade) not in out and status in ("Cancelled", "ApiCancelled", "Inactive") and not trade.filled():
            errors = [entry.message for entry in trade.log if entry.errorCode]
            out[id(trade)] = IB_REFUSED.format(status=status, reason=errors[-1] if errors else "no reason given")
    return out
