"""Reads for the dashboard: what the snapshot shows, shaped like the worker's live event payloads.

The queries are trading.selectors' (shared with the API); rows go through the worker's own payload
builders (trading.worker.store), so a row in the snapshot and the same row in a later delta have the
same keys and the browser has one way to apply both.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from trading import selectors as records
from trading.clock import day_bounds, display_zone, local_day
from trading.models import EquitySnapshot, HandlerStat, IntentRun, OrderStatus
from trading.worker.store import activity_event, fill_event, order_event, position_event

# The account tags the page shows (IB sends a few hundred; the rest stay in the admin). Not IB's
# UnrealizedPnL/RealizedPnL account values: the card's P&L is reqPnL's (`pnl`), one source with the rows.
ACCOUNT_TAGS = (
    "NetLiquidation",
    "AvailableFunds",
    "BuyingPower",
    "ExcessLiquidity",
    "GrossPositionValue",
    "TotalCashValue",
    "CashBalance",
)
RECENT_DONE_ORDERS = 100  # the page keeps as many
RECENT_FILLS = 50
RECENT_RUNS = 30
RECENT_ACTIVITY = 100
# How far back the page's activity poll looks again: longer than any write takes from insert to commit.
ACTIVITY_OVERLAP = timedelta(seconds=30)
# Orders that never reached IB (dry-run plans, gateway refusals) are shown in the run's result and the
# activity log, not among IB's orders.
NOT_AT_IB = (OrderStatus.PLANNED, OrderStatus.REFUSED)


def order_list(*, mode: str, account: str = "") -> list[dict]:
    """Every open order, then the most recent finished ones (so a fill stays visible for a while)."""
    open_rows = list(records.order_list(mode=mode, status=records.OPEN, account=account))
    done_rows = records.order_list(mode=mode, status=records.DONE, account=account).exclude(status__in=NOT_AT_IB)
    done_rows = list(done_rows[:RECENT_DONE_ORDERS])
    return [order_event(order) for order in open_rows + done_rows]


def position_list(*, mode: str, account: str = "") -> list[dict]:
    return [position_event(position) for position in records.position_list(mode=mode, account=account)]


def account_value_list(*, mode: str, account: str = "") -> list[dict]:
    """The card's account values, each with when it was last recorded (`updated_at`: its age on the card).
    Per account: the page sums them for its "all accounts" view, as the deltas arrive per account."""
    values = records.account_value_list(mode=mode, account=account).filter(tag__in=ACCOUNT_TAGS)
    return [
        {"account": v.account, "tag": v.tag, "currency": v.currency, "value": v.value, "updated_at": v.updated_at.isoformat()}
        for v in values
    ]


def pnl_list(*, mode: str, account: str = "") -> list[dict]:
    """Each account's reqPnL figures as `pnl.update` payloads (`at`: when IB pushed them); the page
    sums them for its "all accounts" view, as the pushes arrive per account."""
    return [{**pnl, "at": pnl["at"].isoformat()} for pnl in records.pnl_list(mode=mode, account=account)]


def fill_list(*, mode: str, account: str = "", limit: int = RECENT_FILLS) -> list[dict]:
    return [fill_event(fill) for fill in records.fill_list(mode=mode, account=account)[:limit]]


def run_payload(run: IntentRun) -> dict:
    """An intent run as the dashboard shows it; the keys of the worker's `run.update` payload, and more."""
    return {
        "id": run.pk,
        "intent": run.intent,
        "status": run.status,
        "dry_run": run.dry_run,
        "mode": run.mode,
        "source": run.source,
        "requested_by": run.requested_by.get_username() if run.requested_by_id else "",
        "error": run.error.splitlines()[0] if run.error else "",
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def run_list(*, limit: int = RECENT_RUNS) -> list[dict]:
    return [run_payload(run) for run in records.run_list()[:limit]]


def activity_list(*, mode: str, after: int | None = None, limit: int = RECENT_ACTIVITY) -> list[dict]:
    """Recent activity entries as `activity.new` events, newest first.

    `after` (the page's poll cursor) gives the entries above it *and* every entry written in the last
    ACTIVITY_OVERLAP: ids are handed out at insert but become visible at commit, so another process's
    entry can appear below an id the page already has (the CLI's id 100 committing after the worker's
    101 was pushed). A strict "id > cursor" skipped such an entry until a reload; the page drops repeats."""
    entries = records.activity_list(mode=mode)
    if after is not None:
        entries = entries.filter(Q(pk__gt=after) | Q(created_at__gte=timezone.now() - ACTIVITY_OVERLAP))
    return [activity_event(entry) for entry in entries[:limit]]


def handler_problem_list() -> list[dict]:
    """Loaded handlers that have raised, with where they live (the admin has the full stats)."""
    stats = HandlerStat.objects.filter(loaded=True, errors__gt=0)
    return [
        {"name": s.name, "event": s.event, "file": s.file, "line": s.line, "errors": s.errors, "last_error": s.last_error}
        for s in stats
    ]


def equity_today(*, mode: str, account: str = "") -> dict:
    """Today's equity snapshots (display-zone day) for the intraday chart: [epoch s, net liq, daily P&L].

    Each worker snapshots its own account. Without `account`, several accounts' snapshots become one
    line: at each snapshot, the sum of every account's latest figures so far (the others carried
    forward), so the line never zigzags between one account and another."""
    start, _ = day_bounds(local_day(timezone.now()))
    snapshots = EquitySnapshot.objects.filter(mode=mode, taken_at__gte=start)
    if account:
        snapshots = snapshots.filter(account=account)
    rows = list(
        snapshots.order_by("taken_at", "id").values_list("taken_at", "net_liquidation", "daily_pnl", "currency", "account")
    )
    latest: dict[str, tuple] = {}
    points = []
    for at, net, pnl, _, name in rows:
        latest[name] = (net, pnl)
        pnls = [p for _, p in latest.values() if p is not None]
        total_net = sum(n for n, _ in latest.values())
        points.append([round(at.timestamp(), 3), float(total_net), float(sum(pnls)) if pnls else None])
    return {"zone": str(display_zone()), "currency": rows[-1][3] if rows else "", "points": points}


def digest(*, mode: str, account: str = "") -> dict:
    """What the page checks itself against: every open order's status, the recent runs' statuses, the
    newest fill (of the account the page shows, or all). A delta the channel layer dropped shows up as a
    difference, and the page resyncs."""
    open_orders = records.order_list(mode=mode, status=records.OPEN, account=account).values_list("pk", "status")
    runs = records.run_list()[:RECENT_RUNS].values_list("pk", "status")
    newest_fill = records.fill_list(mode=mode, account=account).values_list("pk", flat=True).first()
    return {
        "orders": {str(pk): status for pk, status in open_orders},
        "runs": {str(pk): status for pk, status in runs},
        "fill": newest_fill,
    }
