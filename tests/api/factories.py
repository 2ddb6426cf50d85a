"""Small builders for recorded rows (what the worker would have written)."""

from datetime import datetime
from decimal import Decimal
from itertools import count

from django.utils import timezone

from trading.models import AccountValue, Fill, IntentRun, Order, OrderStatus, Position

_ids = count(1000)


def order_make(*, symbol="SPY", status=OrderStatus.SUBMITTED, strategy="", mode="paper", created_at=None, **fields) -> Order:
    next_id = next(_ids)
    order = Order.objects.create(
        mode=mode,
        symbol=symbol,
        status=status,
        strategy=strategy,
        action=fields.pop("action", "BUY"),
        total_quantity=Decimal(fields.pop("total_quantity", "10")),
        order_id=fields.pop("order_id", next_id),
        perm_id=fields.pop("perm_id", next_id * 10),
        con_id=fields.pop("con_id", 756733),
        **fields,
    )
    if created_at is not None:
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
        order.refresh_from_db()
    return order


def fill_make(*, symbol="SPY", strategy="", mode="paper", executed_at: datetime | None = None, **fields) -> Fill:
    return Fill.objects.create(
        exec_id=f"0000e0d5.{next(_ids)}.01.01",
        mode=mode,
        symbol=symbol,
        strategy=strategy,
        side=fields.pop("side", "BUY"),
        shares=Decimal(fields.pop("shares", "10")),
        price=Decimal(fields.pop("price", "450.25")),
        executed_at=executed_at or timezone.now(),
        **fields,
    )


def position_make(*, symbol="SPY", quantity="10", mode="paper", account="DU123", con_id=None, **fields) -> Position:
    return Position.objects.create(
        mode=mode, account=account, symbol=symbol, quantity=Decimal(quantity), con_id=con_id or next(_ids), **fields
    )


def account_value_make(*, tag="NetLiquidation", value="100000.00", currency="USD", mode="paper", account="DU123") -> AccountValue:
    return AccountValue.objects.create(mode=mode, account=account, tag=tag, currency=currency, value=value)


def run_make(*, intent="summary", status="queued", source="api", created_at=None, **fields) -> IntentRun:
    run = IntentRun.objects.create(intent=intent, status=status, source=source, mode="paper", **fields)
    if created_at is not None:
        IntentRun.objects.filter(pk=run.pk).update(created_at=created_at)
        run.refresh_from_db()
    return run
