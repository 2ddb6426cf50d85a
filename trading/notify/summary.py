"""The daily summary: one display-zone day's fills, P&L from fills, rejections and runs, per mode."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum

from trading.clock import day_bounds
from trading.models import ActivityEntry, ActivityKind, Fill, IntentRun, Position
from trading.notify.messages import item_make


def daily_summary_item(*, day: date) -> dict:
    start, end = day_bounds(day)
    fills = Fill.objects.filter(executed_at__gte=start, executed_at__lt=end)
    lines = []
    for row in fills.values("mode").annotate(n=Count("id"), pnl=Sum("realized_pnl"), fees=Sum("commission")).order_by("mode"):
        lines.append(f"{row['mode']}: {row['n']} fill(s), realized P&L {_money(row['pnl'])}, commission {_money(row['fees'])}")
    if not lines:
        lines.append("no fills")
    rejected = ActivityEntry.objects.filter(kind=ActivityKind.ORDER_REFUSED, created_at__gte=start, created_at__lt=end).count()
    lines.append(f"orders refused or not sent: {rejected}")
    runs = IntentRun.objects.filter(finished_at__gte=start, finished_at__lt=end).values("status").annotate(n=Count("id"))
    outcomes = ", ".join(f"{row['n']} {row['status']}" for row in runs.order_by("status")) or "none"
    lines.append(f"runs finished: {outcomes}")
    lines.append(f"open positions: {Position.objects.count()}")
    return item_make(title=f"Daily summary {day.isoformat()}", line=f"{day.isoformat()}: {lines[0]}", body="\n".join(lines))


def _money(value: Decimal | None) -> str:
    return f"{value or 0:,.2f}"
