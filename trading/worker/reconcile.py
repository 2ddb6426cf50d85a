"""Reconciliation after every (re)connect: the database is brought to IB's truth in one transaction.

Orders (all clients', so orders placed in TWS are seen), today's executions (fills missed while
disconnected are stored now, exactly once), positions (a move no fill of ours explains is an external
change; the first reconciliation of a mode takes positions as the baseline), account values.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q

from trading.models import DEFAULT_CONNECTION, ActivityKind, Position, PositionSnapshot
from trading.models.activity import Severity
from trading.worker.positions import PositionLedger, position_observe, position_verify
from trading.worker.store import account_value_upsert, activity_write, fill_record, order_upsert, position_upsert


def reconcile_apply(
    *,
    mode: str,
    ledger: PositionLedger,
    trades: list[dict],
    fills: list[dict],
    positions: list[dict],
    portfolio: list[dict],
    account_values: list[dict],
    gateway: str,
    accounts: list[str] | None = None,
    connection: str = DEFAULT_CONNECTION,
) -> tuple[list[dict], dict]:
    """`connection`: the worker's; every row read or written is that connection's. `accounts`: the
    gateway's managed accounts. A recorded position of another account is not this gateway's to close
    (it belongs to another IB connection's worker); None: every account's."""
    events: list[dict] = []
    scope = {"mode": mode, "connection": connection}
    snapshots = PositionSnapshot.objects.filter(**scope)
    if accounts:  # a snapshot of no position ("" account) counts for every account: the safe side
        snapshots = snapshots.filter(Q(account__in=accounts) | Q(account=""))
    baseline = not snapshots.exists()
    for snap in trades:
        events += order_upsert(**scope, snap=snap)
    recovered = []
    for snap in fills:
        fill_events, new = fill_record(**scope, snap=snap)
        if new:
            events += fill_events
            recovered.append(snap["exec_id"])
            ledger.fill_seen(snap)

    reported = {(p["account"], p["con_id"]) for p in positions}
    gone = [
        {"account": row.account, "con_id": row.con_id, "symbol": row.symbol, "sec_type": row.sec_type,
         "exchange": row.exchange, "currency": row.currency, "local_symbol": row.local_symbol,
         "quantity": "0", "avg_cost": "0"}
        for row in Position.objects.filter(**scope, **({"account__in": accounts} if accounts else {}))
        if (row.account, row.con_id) not in reported
    ]  # fmt: skip
    external = []
    for snap in [*positions, *gone]:
        position_events, suspect = position_observe(**scope, snap=snap, ledger=ledger)
        events += position_events
        if suspect and baseline:
            ledger.suspects.pop((snap["account"], snap["con_id"]), None)
        elif suspect:
            # The sync is complete (executions come last), so nothing more will explain it: report now.
            change = position_verify(**scope, key=(snap["account"], snap["con_id"]), ledger=ledger, context="reconnect")
            events += change
            external.append(snap["symbol"])
    for snap in portfolio:
        events += position_upsert(**scope, snap=snap)
    for snap in account_values:
        events += account_value_upsert(**scope, snap=snap)

    PositionSnapshot.objects.create(
        **scope,
        account=positions[0]["account"] if positions else "",
        source="baseline" if baseline else "reconnect",
        positions=[{k: v for k, v in p.items()} for p in positions if Decimal(p["quantity"]) != 0],
    )
    summary = {
        "orders": len(trades),
        "fills_recovered": recovered,
        "positions": len(positions),
        "external_changes": external,
        "baseline": baseline,
        "gateway": gateway,
    }
    severity = Severity.WARNING if external else Severity.INFO
    message = (
        f"reconciled with {gateway}: {len(trades)} orders, {len(recovered)} fill(s) recovered, "
        f"{len(positions)} positions"
        + (f", external changes in {', '.join(external)}" if external else "")
        + (" (baseline)" if baseline else "")
    )
    events += activity_write(
        **scope, account=accounts[0] if accounts and len(accounts) == 1 else "", kind=ActivityKind.RECONCILIATION,
        message=message, severity=severity, payload=summary,
    )  # fmt: skip
    return events, summary
