"""`trade_reconciliation`: snapshot every position and audit today's recorded orders against IB's executions.

The position snapshot is the seed's `holdings/all_positions` (a PositionSnapshot, source
`trade_reconciliation`). The audit — which the seed never got working — compares each of today's order
rows (New York trading day, plus older rows with executions today) with IB: filled quantity and the
share-weighted average price from today's executions, and the status IB reports for the order. Rows
that differ are corrected, each correction recorded in the activity log and listed in the result.
Executions no row explains are listed too. A dry run reports the corrections without writing them.

Filled quantity and average price are audited only for orders placed today: IB returns today's
executions only, so an older order's earlier fills would be missing from the sum.

Everything compared comes from our records (Order rows) and IB's own answers to this run's requests
(open orders, completed orders, executions) — never from ib.trades()/ib.fills(), which hold only the
working orders and the last RETAIN_DONE_MINUTES of the session (trading/worker/retention.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from trading.activity import activity_record
from trading.intents.base import Intent, IntentParams
from trading.intents.registry import intent_register
from trading.models import DEFAULT_CONNECTION, ActivityKind, Order, OrderStatus, PositionSnapshot
from trading.models.activity import Severity
from trading.worker.snapshots import fill_snapshot, position_snapshot

NEW_YORK = ZoneInfo("America/New_York")
PRICE_PLACES = Decimal("0.000001")
PRICE_TOLERANCE = Decimal("0.0001")
UNRECORDED = (OrderStatus.PLANNED, OrderStatus.REFUSED)


@intent_register
class TradeReconciliation(Intent):
    name = "trade_reconciliation"
    description = "Snapshot all positions and correct today's order records from IB's executions. Places nothing."
    timeout = 60.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        # IB's answers, not ib.trades(): the worker lets go of done trades (trading/worker/retention.py)
        working = await ctx.ib.reqAllOpenOrdersAsync()
        completed = await ctx.ib.reqCompletedOrdersAsync(False)
        positions = [p for p in await ctx.ib.reqPositionsAsync() if p.position and _mine(ctx, p.account)]
        fills = [f for f in await ctx.ib.reqExecutionsAsync() if _mine(ctx, f.execution.acctNumber)]
        await ctx.flush_records()  # the worker's own records of these events come first
        snapshot = await ctx.db(
            PositionSnapshot.objects.create,
            mode=ctx.mode,
            connection=ctx.connection,
            account=ctx.account,
            source="trade_reconciliation",
            positions=[position_snapshot(p) for p in positions],
            run=ctx.run,
        )
        audit = await ctx.db(
            orders_audit,
            mode=ctx.mode,
            connection=ctx.connection,
            executions=[fill_snapshot(f) for f in fills],
            statuses=_statuses([*completed, *working]),
            since=trading_day_start(),
            apply=not ctx.dry_run,
            run=ctx.run,
        )
        verb = "would correct" if ctx.dry_run else "corrected"
        await ctx.log(
            f"audited {audit['audited']} order(s) against {len(fills)} execution(s): {verb} {len(audit['corrected'])}",
            kind=ActivityKind.RECONCILIATION,
            payload={"snapshot": snapshot.pk, "corrected": [c["order"] for c in audit["corrected"]]},
        )
        return {
            "snapshot": snapshot.pk,
            "positions": snapshot.positions,
            "executions": len(fills),
            **audit,
            "applied": not ctx.dry_run,
        }


def _mine(ctx, account: str) -> bool:
    return not ctx.account or not account or account == ctx.account


def _statuses(trades) -> dict:
    """IB's status per order, keyed by permId and by (clientId, orderId); a later trade's wins."""
    statuses = {}
    for trade in trades:
        perm_id = trade.order.permId or trade.orderStatus.permId
        if perm_id:
            statuses[perm_id] = trade.orderStatus.status
        if trade.order.orderId > 0:
            statuses[(trade.order.clientId, trade.order.orderId)] = trade.orderStatus.status
    return statuses


def trading_day_start(now: dt.datetime | None = None) -> dt.datetime:
    """Midnight in New York: IB's executions and our 'today' for US markets."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(NEW_YORK)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def orders_audit(
    *,
    mode: str,
    executions: list[dict],
    statuses: dict,
    since: dt.datetime,
    apply: bool,
    run=None,
    connection: str = DEFAULT_CONNECTION,
) -> dict:
    by_perm, by_ids = defaultdict(list), defaultdict(list)
    for execution in executions:
        if execution["perm_id"]:
            by_perm[execution["perm_id"]].append(execution)
        by_ids[(execution["client_id"], execution["ib_order_id"])].append(execution)
    rows = (
        Order.objects.filter(mode=mode, connection=connection, dry_run=False)
        .exclude(status__in=UNRECORDED)
        .filter(Q(created_at__gte=since) | Q(perm_id__in=list(by_perm)))
    )
    audited, corrected, explained = 0, [], set()
    for row in rows:
        audited += 1
        found = (by_perm.get(row.perm_id) if row.perm_id else None) or by_ids.get((row.client_id, row.order_id), [])
        explained.update(e["exec_id"] for e in found)
        changes = order_changes(row, found, _status_of(row, statuses), placed_today=row.created_at >= since)
        if not changes:
            continue
        corrected.append(
            {"order": row.pk, "order_id": row.order_id, "perm_id": row.perm_id, "symbol": row.symbol, "changes": changes}
        )
        if apply:
            _apply(row, changes, mode=mode, run=run)
    unmatched = [
        {k: e[k] for k in ("exec_id", "symbol", "side", "shares", "price", "perm_id", "ib_order_id", "order_ref")}
        for e in executions
        if e["exec_id"] not in explained
    ]
    return {"audited": audited, "corrected": corrected, "unmatched_executions": unmatched}


def _status_of(row: Order, statuses: dict) -> str | None:
    return statuses.get(row.perm_id) if row.perm_id in statuses else statuses.get((row.client_id, row.order_id))


def order_changes(row: Order, executions: list[dict], ib_status: str | None, *, placed_today: bool) -> dict:
    """{field: {"from", "to"}} for every field of the row that IB contradicts."""
    truth = {}
    if placed_today:
        filled = sum((Decimal(e["shares"]) for e in executions), Decimal(0))
        truth["filled"] = filled
        if filled:
            notional = sum((Decimal(e["shares"]) * Decimal(e["price"]) for e in executions), Decimal(0))
            truth["avg_fill_price"] = (notional / filled).quantize(PRICE_PLACES)
        if ib_status is None and filled >= row.total_quantity:
            ib_status = OrderStatus.FILLED
    if ib_status:
        truth["status"] = ib_status
    status = truth.get("status", row.status)
    if "filled" in truth and status not in (OrderStatus.CANCELLED, OrderStatus.API_CANCELLED, OrderStatus.INACTIVE):
        truth["remaining"] = max(row.total_quantity - truth["filled"], Decimal(0))
    changes = {}
    for field, value in truth.items():
        current = getattr(row, field)
        if field == "avg_fill_price":
            differs = abs(Decimal(current) - value) > PRICE_TOLERANCE
        elif isinstance(value, Decimal):
            differs = Decimal(current) != value
        else:
            differs = current != value
        if differs:
            changes[field] = {"from": _show(current), "to": _show(value)}
    return changes


def _show(value) -> str:
    """Decimals without trailing zeros ('5', not '5.0000'); statuses as they are."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _apply(row: Order, changes: dict, *, mode: str, run) -> None:
    for field, change in changes.items():
        setattr(row, field, Decimal(change["to"]) if field != "status" else change["to"])
    row.save(update_fields=[*changes, "updated_at"])
    summary = ", ".join(f"{field} {c['from']} → {c['to']}" for field, c in changes.items())
    activity_record(
        kind=ActivityKind.RECONCILIATION,
        severity=Severity.WARNING,
        message=f"order #{row.pk} ({row.action} {row.total_quantity:f} {row.symbol}, IB order {row.order_id}) corrected from IB: {summary}",
        mode=mode,
        connection=row.connection,
        account=row.account,
        strategy=row.strategy,
        run=run,
        payload={"order": row.pk, "perm_id": row.perm_id, "changes": changes},
    )
