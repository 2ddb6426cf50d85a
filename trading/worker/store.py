"""Database writes for IB events (run on the recorder's thread, never on the worker's loop).

Each function takes a snapshot (trading.worker.snapshots) and returns the live events to broadcast
once the batch commits. They are idempotent: replaying an event (a reconnect re-sends open orders and
today's executions) updates rows to IB's truth and never stores a fill twice. Each takes the name of
the IB connection whose worker writes (`connection`, "default" when not given): IB's order ids, permIds
and positions are a gateway's, so rows are found and written by connection (two gateways may each have
a client 1 handing out the same order ids).

The recorder runs a burst of events in one transaction inside `batch_scope`: the orders, fills,
positions and runs the batch names are read in a few queries up front and every row read or written
is remembered until the transaction ends, so an order's statuses, its execution and its commission
cost one lookup between them instead of one each. Activity entries and strategy holdings are written
when the batch ends (one insert for all the entries, one update per holding), still inside its
transaction. Outside a batch scope every lookup queries and every write is immediate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from trading.activity import activity_entry, activity_notify
from trading.live import live_event
from trading.models import (
    DEFAULT_CONNECTION,
    AccountValue,
    ActivityEntry,
    ActivityKind,
    Fill,
    Holding,
    IntentRun,
    Order,
    OrderStatus,
    Position,
)
from trading.models.activity import Severity
from trading.orderref import order_ref_parse

ORDER_FIELDS = (
    "con_id", "symbol", "sec_type", "exchange", "currency", "local_symbol", "account", "client_id", "order_id",
    "perm_id", "order_ref", "action", "total_quantity", "order_type", "lmt_price", "aux_price", "tif", "status",
    "filled", "remaining", "avg_fill_price",
)  # fmt: skip
FINAL_STATUSES = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.API_CANCELLED, OrderStatus.INACTIVE}


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text(value) -> str | None:
    """A decimal for a live event payload: exact as a string, None stays None."""
    return None if value is None else str(value)


def order_event(value: Order) -> dict:
    return {
        "id": value.pk,
        "order_id": value.order_id,
        "perm_id": value.perm_id,
        "client_id": value.client_id,
        "symbol": value.symbol,
        "sec_type": value.sec_type,
        "action": value.action,
        "total_quantity": str(value.total_quantity),
        "order_type": value.order_type,
        "lmt_price": _text(value.lmt_price),
        "status": value.status,
        "filled": str(value.filled),
        "remaining": str(value.remaining),
        "avg_fill_price": str(value.avg_fill_price),
        "strategy": value.strategy,
        "order_ref": value.order_ref,
        "run_id": value.run_id,
        "last_error": value.last_error,
        "account": value.account,
        "connection": value.connection,
    }


# ----- the batch cache ---------------------------------------------------------------------------

MISSING = None  # a cached None: the row is known not to exist


class BatchCache:
    """Rows one recorder transaction has read or written, by key; `None` = known not to exist.

    Keys: ("order-perm", mode, connection, perm_id), ("order-id", mode, connection, client_id, order_id),
    ("fill", exec_id), ("position", mode, connection, account, con_id), ("holding", mode, connection, account,
    strategy, con_id), ("run", run_id).
    Only the recorder's thread writes orders (after the order gateway's first insert, committed before
    IB hears of the order), fills, positions and holdings, so what the batch read stays true until it ends.
    """

    def __init__(self, *, deferred: bool = False):
        self.rows: dict[tuple, object] = {}
        # In a batch: entries (with the live events that show them) and holdings written at its end.
        self.deferred = deferred
        self.activity: list[tuple[ActivityEntry, dict]] = []
        self.holdings: dict[tuple, Holding] = {}

    def activity_add(self, entry: ActivityEntry) -> dict:
        """The entry's live event; in a batch its id and time are filled in when the batch writes it."""
        if not self.deferred:
            entry.save()
            activity_notify([entry])
            return activity_event(entry)
        event = activity_event(entry)
        self.activity.append((entry, event))
        return event

    def holding_changed(self, holding: Holding) -> None:
        if self.deferred:
            self.holdings[_holding_key(holding)] = holding
        else:
            holding.save()

    def write_deferred(self) -> None:
        if self.activity:
            ActivityEntry.objects.bulk_create([entry for entry, _ in self.activity])
            activity_notify([entry for entry, _ in self.activity])
            for entry, event in self.activity:
                event["payload"]["id"] = entry.pk
                event["time"] = entry.created_at.isoformat()
            self.activity = []
        for holding in self.holdings.values():
            holding.save()
        self.holdings = {}

    def lookup(self, key: tuple, query):
        """The cached row for `key`, else `query()` (a row or None), remembered."""
        if key in self.rows:
            return self.rows[key]
        row = self.rows[key] = query()
        return row

    def remember_order(self, order: Order) -> None:
        if order.perm_id:
            self.rows[("order-perm", order.mode, order.connection, order.perm_id)] = order
        if order.order_id > 0:
            self.rows[("order-id", order.mode, order.connection, order.client_id, order.order_id)] = order

    def prefetch(self, items: list[dict]) -> None:
        """Read what a batch of ops (their kwargs) will look up: a query per table, not one per event."""
        perms, order_ids, exec_ids, positions, run_ids = set(), set(), set(), set(), set()
        for kwargs in items:
            mode, snap = kwargs.get("mode"), kwargs.get("snap")
            if not mode or not isinstance(snap, dict):
                continue
            scope = (mode, kwargs.get("connection", DEFAULT_CONNECTION))
            if snap.get("perm_id"):
                perms.add((*scope, snap["perm_id"]))
            order_id = snap.get("ib_order_id", snap.get("order_id"))
            if order_id and order_id > 0 and "client_id" in snap:
                order_ids.add((*scope, snap["client_id"], order_id))
            if snap.get("exec_id"):
                exec_ids.add(snap["exec_id"])
            if "quantity" in snap and "con_id" in snap and "account" in snap:
                positions.add((*scope, snap["account"], snap["con_id"]))
            ref = order_ref_parse(snap.get("order_ref") or "")
            if ref is not None:
                run_ids.add(ref.run_id)
        if perms or order_ids:
            for key in [("order-perm", *k) for k in perms] + [("order-id", *k) for k in order_ids]:
                self.rows.setdefault(key, MISSING)
            match = _any_of(("mode", "connection"), "perm_id", perms) | _any_of(
                ("mode", "connection", "client_id"), "order_id", order_ids
            )
            for order in Order.objects.filter(match):
                self.remember_order(order)
        if exec_ids:
            for exec_id in exec_ids:
                self.rows.setdefault(("fill", exec_id), MISSING)
            for fill in Fill.objects.filter(exec_id__in=exec_ids):
                self.rows[("fill", fill.exec_id)] = fill
        if positions:
            for key in positions:
                self.rows.setdefault(("position", *key), MISSING)
            for position in Position.objects.filter(_any_of(("mode", "connection", "account"), "con_id", positions)):
                self.rows[("position", position.mode, position.connection, position.account, position.con_id)] = position
        if run_ids:
            found = set(IntentRun.objects.filter(pk__in=run_ids).values_list("pk", flat=True))
            for run_id in run_ids:
                self.rows[("run", run_id)] = run_id in found


def _holding_key(holding: Holding) -> tuple:
    return ("holding", holding.mode, holding.connection, holding.account, holding.strategy, holding.con_id)


def _any_of(fields: tuple[str, ...], last: str, keys: set[tuple]) -> Q:
    """Rows matching any key (`fields` + `last`), as one `IN` per distinct prefix: a batch of hundreds
    of orders stays a short query (SQLite refuses an expression tree deeper than 1,000)."""
    groups: dict[tuple, list] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    match = Q(pk__in=[])
    for prefix, values in groups.items():
        match |= Q(**dict(zip(fields, prefix, strict=True)), **{f"{last}__in": values})
    return match


_local = threading.local()


def _cache() -> BatchCache:
    """The running batch's cache, or a throwaway one (every lookup queries) outside a batch."""
    return getattr(_local, "cache", None) or BatchCache()


@contextmanager
def batch_scope(items: list[dict], *, lease=None) -> Iterator[BatchCache]:
    """Remember rows for the duration of one recorder transaction (enter it inside the transaction).

    With the worker's `lease` (trading/worker/lease.py), the batch is written only while its token is
    current: one read of the lease row per batch, locked until commit so a takeover waits for it."""
    if lease is not None:
        lease.verify()
    cache = BatchCache(deferred=True)
    cache.prefetch(items)
    _local.cache = cache
    try:
        yield cache
        cache.write_deferred()
    finally:
        _local.cache = None


# ----- orders and fills --------------------------------------------------------------------------


def _find_order(mode: str, connection: str, snap: dict) -> Order | None:
    cache, rows = _cache(), Order.objects.filter(mode=mode, connection=connection)
    if snap["perm_id"]:
        found = cache.lookup(
            ("order-perm", mode, connection, snap["perm_id"]), lambda: rows.filter(perm_id=snap["perm_id"]).first()
        )
        if found:
            return found
    if snap["order_id"] > 0:
        return cache.lookup(
            ("order-id", mode, connection, snap["client_id"], snap["order_id"]),
            lambda: rows.filter(client_id=snap["client_id"], order_id=snap["order_id"]).first(),
        )
    if snap.get("order_ref") and order_ref_parse(snap["order_ref"]) is not None:
        # A completed order comes back with permId only. If the worker died between writing the row
        # and IB's first answer, the row has no permId yet: find it by its tag, contract and size.
        return (
            rows.filter(
                perm_id=0, order_ref=snap["order_ref"], con_id=snap["con_id"], action=snap["action"],
                total_quantity=Decimal(snap["total_quantity"]),
            )
            .exclude(status__in=[OrderStatus.PLANNED, OrderStatus.REFUSED])
            .order_by("id")
            .first()
        )  # fmt: skip
    return None


def _attribution(order_ref: str) -> tuple[int | None, str]:
    """(run id, strategy/owner) from the console's orderRef tag; (None, "") for foreign orders."""
    ref = order_ref_parse(order_ref)
    if ref is None:
        return None, ""
    exists = _cache().lookup(("run", ref.run_id), lambda: IntentRun.objects.filter(pk=ref.run_id).exists())
    return (ref.run_id if exists else None), ref.owner


def order_upsert(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    """Mirror one IB order (openOrder/orderStatus) to its row, creating it for orders placed elsewhere."""
    order = _find_order(mode, connection, snap)
    created = order is None
    if created:
        run_id, strategy = _attribution(snap["order_ref"])
        order = Order(mode=mode, connection=connection, run_id=run_id, strategy=strategy)
    before = order.status
    for field in ORDER_FIELDS:
        value = snap[field]
        if field in {"total_quantity", "filled", "remaining", "avg_fill_price", "lmt_price", "aux_price"}:
            value = _decimal(value)
        if field in ("perm_id", "order_id") and not value and not created:
            continue  # never forget ids IB already gave (completed orders come back with orderId 0)
        if field == "client_id" and not snap["order_id"] and not created:
            continue
        if field == "avg_fill_price" and value is None:
            if created:
                order.avg_fill_price = Decimal(0)
            continue  # unknown here (a completed order): keep what the fills told us
        setattr(order, field, value)
    if snap.get("last_error"):
        order.last_error = snap["last_error"]
    order.save()
    _cache().remember_order(order)
    if not created and before == order.status:
        return [live_event("order.status", order_event(order), mode=mode)]
    events = [live_event("order.status", order_event(order), mode=mode)]
    if created or order.status in FINAL_STATUSES:
        verb = "new order" if created else order.status.lower()
        severity = Severity.WARNING if order.status == OrderStatus.INACTIVE else Severity.INFO
        entry = activity_entry(
            kind=ActivityKind.ORDER,
            severity=severity,
            message=f"{verb}: {order.action} {order.total_quantity:f} {order.symbol} {order.order_type}"
            f" (order {order.order_id}, {order.status})",
            mode=mode,
            connection=connection,
            account=order.account,
            strategy=order.strategy,
            run_id=order.run_id,
            payload={"order": order.pk, "perm_id": order.perm_id, "status": order.status, "error": order.last_error},
        )
        events.append(_cache().activity_add(entry))
    return events


def fill_record(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> tuple[list[dict], bool]:
    """Store one execution exactly once; returns (events, was_new). A replay only fills in commission."""
    cache = _cache()
    existing = _find_fill(cache, snap["exec_id"])
    if existing is not None:
        if existing.commission is None and snap["commission"] is not None:
            _apply_commission(existing, snap)
        return [], False
    ids = {"perm_id": snap["perm_id"], "order_id": snap["ib_order_id"], "client_id": snap["client_id"]}
    order = _find_order(mode, connection, ids)
    if order is not None and not order.perm_id and snap["perm_id"]:
        Order.objects.filter(pk=order.pk).update(perm_id=snap["perm_id"])  # the execution tells us
        order.perm_id = snap["perm_id"]
        cache.remember_order(order)
    run_id, strategy = _attribution(snap["order_ref"])
    fill = Fill.objects.create(
        mode=mode,
        connection=connection,
        order=order,
        run_id=run_id or (order.run_id if order else None),
        strategy=strategy or (order.strategy if order else ""),
        executed_at=parse_datetime(snap["executed_at"]),
        shares=Decimal(snap["shares"]),
        price=Decimal(snap["price"]),
        commission=_decimal(snap["commission"]),
        realized_pnl=_decimal(snap["realized_pnl"]),
        **{k: snap[k] for k in ("exec_id", "account", "ib_order_id", "client_id", "perm_id", "order_ref", "side",
                                "commission_currency", "con_id", "symbol", "sec_type", "exchange", "currency",
                                "local_symbol")},
    )  # fmt: skip
    cache.rows[("fill", fill.exec_id)] = fill
    if fill.strategy:
        holding_apply_fill(mode=mode, fill=fill)
    entry = activity_entry(
        kind=ActivityKind.FILL,
        message=f"fill: {fill.side} {fill.shares:f} {fill.symbol} @ {fill.price:f} (exec {fill.exec_id})",
        mode=mode,
        connection=connection,
        account=fill.account,
        strategy=fill.strategy,
        run_id=fill.run_id,
        payload={"fill": fill.pk, "exec_id": fill.exec_id, "order": fill.order_id},
    )
    return [live_event("fill.new", fill_event(fill), mode=mode), cache.activity_add(entry)], True


def _find_fill(cache: BatchCache, exec_id: str) -> Fill | None:
    return cache.lookup(("fill", exec_id), lambda: Fill.objects.filter(exec_id=exec_id).first())


def commission_record(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    fill = _find_fill(_cache(), snap["exec_id"])
    if fill is None:
        return []  # the execution row comes first; a replay after reconnect fills this in
    _apply_commission(fill, snap)
    return [live_event("fill.new", fill_event(fill), mode=mode)]


def _apply_commission(fill: Fill, snap: dict) -> None:
    fill.commission = _decimal(snap["commission"])
    fill.commission_currency = snap["commission_currency"]
    fill.realized_pnl = _decimal(snap["realized_pnl"])
    fill.save(update_fields=["commission", "commission_currency", "realized_pnl"])


def fill_event(fill: Fill) -> dict:
    return {
        "id": fill.pk,
        "exec_id": fill.exec_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "shares": str(fill.shares),
        "price": str(fill.price),
        "commission": _text(fill.commission),
        "realized_pnl": _text(fill.realized_pnl),
        "executed_at": fill.executed_at.isoformat(),
        "strategy": fill.strategy,
        "order": fill.order_id,
        "account": fill.account,
        "connection": fill.connection,
        "run_id": fill.run_id,
    }


def holding_apply_fill(*, mode: str, fill: Fill) -> Holding:
    """A strategy's holding (in the fill's account, at the fill's connection) moves with its fills; the
    average cost follows the position's opening side."""
    cache = _cache()
    holding = cache.lookup(
        ("holding", mode, fill.connection, fill.account, fill.strategy, fill.con_id),
        lambda: Holding.objects.get_or_create(
            mode=mode,
            connection=fill.connection,
            account=fill.account,
            strategy=fill.strategy,
            con_id=fill.con_id,
            defaults={"symbol": fill.symbol, "sec_type": fill.sec_type, "exchange": fill.exchange, "currency": fill.currency},
        )[0],
    )
    signed = fill.shares if fill.side == "BUY" else -fill.shares
    old, new = holding.quantity, holding.quantity + signed
    if old == 0 or ((old > 0) != (new > 0) and new != 0):
        holding.avg_cost = fill.price  # opened, or flipped sides: the new leg's price
    elif abs(new) > abs(old):
        holding.avg_cost = (holding.avg_cost * abs(old) + fill.price * abs(signed)) / abs(new)
    holding.quantity = new
    cache.holding_changed(holding)
    return holding


def position_upsert(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    """The latest position per connection, account and contract; a flat position's row is removed."""
    cache, quantity = _cache(), Decimal(snap["quantity"])
    key = ("position", mode, connection, snap["account"], snap["con_id"])
    position = position_find(mode=mode, connection=connection, account=snap["account"], con_id=snap["con_id"])
    if quantity == 0:
        if position is not None:
            position.delete()
        cache.rows[key] = MISSING
        return [live_event("position.update", {**snap, "quantity": "0", "connection": connection}, mode=mode)]
    if position is None:
        position = Position(mode=mode, connection=connection, account=snap["account"], con_id=snap["con_id"])
    for name in ("symbol", "sec_type", "exchange", "currency", "local_symbol"):
        setattr(position, name, snap[name])
    position.quantity = quantity
    position.avg_cost = Decimal(snap["avg_cost"])
    for name in ("market_price", "market_value", "unrealized_pnl", "realized_pnl"):
        if snap.get(name) is not None:
            setattr(position, name, Decimal(snap[name]))
    position.save()
    cache.rows[key] = position
    return [live_event("position.update", position_event(position), mode=mode)]


def position_find(*, mode: str, account: str, con_id: int, connection: str = DEFAULT_CONNECTION) -> Position | None:
    return _cache().lookup(
        ("position", mode, connection, account, con_id),
        lambda: Position.objects.filter(mode=mode, connection=connection, account=account, con_id=con_id).first(),
    )


def position_event(position: Position) -> dict:
    return {
        "account": position.account,
        "connection": position.connection,
        "con_id": position.con_id,
        "symbol": position.symbol,
        "sec_type": position.sec_type,
        "currency": position.currency,
        "quantity": str(position.quantity),
        "avg_cost": str(position.avg_cost),
        "market_price": _text(position.market_price),
        "market_value": _text(position.market_value),
        "unrealized_pnl": _text(position.unrealized_pnl),
        "realized_pnl": _text(position.realized_pnl),
        "updated_at": position.updated_at.isoformat() if position.updated_at else None,
    }


def account_value_upsert(*, mode: str, snap: dict, connection: str = DEFAULT_CONNECTION) -> list[dict]:
    return account_values_upsert(items=[{"mode": mode, "snap": snap, "connection": connection}])


def account_values_upsert(*, items: list[dict]) -> list[dict]:
    """Many account values in one statement (an account update re-sends dozens at once); last one wins."""
    rows = {}
    for item in items:
        snap, connection = item["snap"], item.get("connection", DEFAULT_CONNECTION)
        key = (item["mode"], connection, snap["account"], snap["tag"], snap["currency"])
        rows[key] = AccountValue(
            mode=item["mode"], connection=connection, account=snap["account"], tag=snap["tag"], currency=snap["currency"],
            value=snap["value"],
        )  # fmt: skip
    AccountValue.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["mode", "connection", "account", "tag", "currency"],
        update_fields=["value", "updated_at"],
    )
    return [live_event("account.value", item["snap"], mode=item["mode"]) for item in items]


def activity_event(entry) -> dict:
    return live_event(
        "activity.new",
        {
            "id": entry.pk,
            "kind": entry.kind,
            "severity": entry.severity,
            "message": entry.message,
            "strategy": entry.strategy,
            "run_id": entry.run_id,
            "connection": entry.connection,
            "account": entry.account,
            "payload": entry.payload,
        },
        mode=entry.mode,
        time=entry.created_at,
    )


def activity_write(
    *,
    mode: str,
    kind: str,
    message: str,
    severity: str = Severity.INFO,
    payload=None,
    connection: str = DEFAULT_CONNECTION,
    account: str = "",
) -> list[dict]:
    entry = activity_entry(
        kind=kind, message=message, severity=severity, mode=mode, payload=payload or {}, connection=connection, account=account
    )
    return [_cache().activity_add(entry)]
