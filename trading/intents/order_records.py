"""What the order gateway writes before it sends anything: order rows and their activity entries.

Database code only (called through `ctx.db`, off the worker's loop). After a row is written the worker
mirrors IB's answers onto it (trading/worker/store.py); these functions write what IB has not said yet:
the planned, refused, sending and not-sent orders, and a modify asked for or refused.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from trading.activity import activity_entry, activity_notify, activity_record
from trading.iblib import UNSET_DOUBLE, Order
from trading.models import ActivityEntry, ActivityKind, OrderStatus
from trading.models import Order as OrderRow
from trading.models.activity import Severity
from trading.worker.snapshots import contract_fields

VERBS = {
    OrderStatus.REFUSED: "refused", OrderStatus.PLANNED: "planned (dry run)", OrderStatus.PENDING_SUBMIT: "sending",
    OrderStatus.NOT_SENT: "not sent",
}  # fmt: skip


def order_record(ctx, contract, order: Order, owner: str, status: str, reason: str, exempt=(), parent_row=None) -> int:
    """The order row and its activity entry, written before anything is sent."""
    row = _order_row(ctx, contract, order, owner, status, reason, parent_row=parent_row)
    row.save()
    entry = _order_entry(ctx, row, order, owner, status, reason, exempt)
    entry.save()
    activity_notify([entry])
    return row.pk


def order_records_write(ctx, items: list[tuple]) -> list[int]:
    """Several orders' rows and activity entries in one transaction: [(contract, order, owner, status,
    reason, exempt)] → their row ids, in order (close_all's and allocation's batch: one commit, and one
    insert for the rows and one for the entries, not two statements per order)."""
    rows = [_order_row(ctx, contract, order, owner, status, reason) for contract, order, owner, status, reason, _ in items]
    with transaction.atomic():
        OrderRow.objects.bulk_create(rows)
        entries = [
            _order_entry(ctx, row, order, owner, status, reason, exempt)
            for row, (_, order, owner, status, reason, exempt) in zip(rows, items, strict=True)
        ]
        ActivityEntry.objects.bulk_create(entries)
        activity_notify(entries)
    return [row.pk for row in rows]


def _order_row(ctx, contract, order: Order, owner: str, status: str, reason: str, parent_row=None) -> OrderRow:
    fields = contract_fields(contract)
    refused = status in (OrderStatus.REFUSED, OrderStatus.NOT_SENT)
    return OrderRow(
        mode=ctx.mode,
        connection=ctx.connection,
        account=order.account or "",
        client_id=ctx.ib.client.clientId if status == OrderStatus.PENDING_SUBMIT else 0,
        order_id=order.orderId if status == OrderStatus.PENDING_SUBMIT else 0,
        order_ref=order.orderRef,
        run=ctx.run,
        strategy=owner,
        action=order.action,
        total_quantity=Decimal(str(order.totalQuantity)),
        order_type=order.orderType,
        lmt_price=_price(order.lmtPrice),
        aux_price=_price(order.auxPrice),
        trail_percent=_price(order.trailingPercent),
        tif=order.tif,
        outside_rth=bool(order.outsideRth),
        oca_group=order.ocaGroup or "",
        parent_id=parent_row,
        status=status,
        remaining=Decimal(str(order.totalQuantity)) if not refused else 0,
        last_error=reason,
        dry_run=status == OrderStatus.PLANNED,
        **fields,
    )


def _order_entry(ctx, row: OrderRow, order: Order, owner: str, status: str, reason: str, exempt) -> ActivityEntry:
    """The activity entry of a written row (not saved yet)."""
    refused = status in (OrderStatus.REFUSED, OrderStatus.NOT_SENT)
    text = f"{VERBS[status]}: {order.action} {order.totalQuantity:g} {row.symbol} {order_describe(order)}"
    if exempt:
        text += f" (closing order: exempt from {', '.join(exempt)})"
    payload = {"order": row.pk, "order_ref": order.orderRef, "reason": reason}
    if exempt:
        payload["exempt"] = list(exempt)
    return activity_entry(
        kind=ActivityKind.ORDER_REFUSED if refused else ActivityKind.ORDER,
        severity=Severity.WARNING if refused else Severity.INFO,
        message=text + (f" — {reason}" if reason else ""),
        mode=ctx.mode,
        connection=row.connection,
        account=row.account,
        strategy=owner,
        run=ctx.run,
        payload=payload,
    )


def order_not_sent(row_id: int, reason: str, status: str = OrderStatus.NOT_SENT) -> None:
    """The row of an order IB never received: final `NotSent` (or `Refused`, when a check stopped it after
    its row was written), no IB id (IB may hand it out again)."""
    updated = OrderRow.objects.filter(pk=row_id, status=OrderStatus.PENDING_SUBMIT).update(
        status=status, order_id=0, remaining=0, last_error=reason
    )
    if not updated:
        return
    row = OrderRow.objects.select_related("run").get(pk=row_id)
    said = "not sent" if status == OrderStatus.NOT_SENT else "refused"
    activity_record(
        kind=ActivityKind.ORDER_REFUSED, severity=Severity.ERROR, message=f"{said}: {reason}", mode=row.mode,
        connection=row.connection, account=row.account, strategy=row.strategy, run=row.run,
        payload={"order": row.pk, "order_ref": row.order_ref, "reason": reason},
    )  # fmt: skip


def orders_unsent(row_ids: list[int], reason: str, status: str) -> None:
    """Several written rows whose orders will not go (a switch flipped mid-batch), in one transaction."""
    with transaction.atomic():
        for row_id in row_ids:
            order_not_sent(row_id, reason, status)


def modify_record(ctx, row: OrderRow, order: Order, *, reason: str = "") -> None:
    """A modify asked for (sent to IB, which answers on the row) or refused: an activity entry on the
    working order's row. A refused modify leaves the order working as it was, so the row keeps its status."""
    change = f"{order.action} {order.totalQuantity:g} {row.symbol} {order_describe(order)}"
    verb = "modify refused" if reason else "modify dry run" if ctx.dry_run else "modifying"
    activity_record(
        kind=ActivityKind.ORDER_REFUSED if reason else ActivityKind.ORDER,
        severity=Severity.WARNING if reason else Severity.INFO,
        message=f"{verb}: order {row.order_id} to {change}" + (f" — {reason}" if reason else ""),
        mode=row.mode, connection=row.connection, account=row.account, strategy=row.strategy, run=ctx.run,
        payload={"order": row.pk, "order_ref": row.order_ref, "modify": True, "reason": reason},
    )  # fmt: skip


def order_describe(order: Order) -> str:
    """'LMT 190.5', 'STP LMT 180 / 179.5', 'TRAIL 1.5%', 'MKT' — type and prices as a trader reads them."""
    text = order.orderType
    if order.orderType in ("STP", "STP LMT") and _price(order.auxPrice) is not None:
        text += f" {order.auxPrice:g}"
    if order.orderType == "TRAIL":
        text += f" {order.trailingPercent:g}%" if _price(order.trailingPercent) is not None else f" {order.auxPrice:g}"
    if _price(order.lmtPrice) is not None:
        text += (" / " if order.orderType == "STP LMT" else " ") + f"{order.lmtPrice:g}"
    if order.tif and order.tif not in ("DAY",):
        text += f" {order.tif}"
    return text


def _price(value) -> Decimal | None:
    if value is None or value == UNSET_DOUBLE:
        return None
    return Decimal(str(value))
