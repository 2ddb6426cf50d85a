"""No phantom orders: after a reconnect, open rows IB does not know are closed out with a reason.

One suspect row's life::

    open row (PendingSubmit, Submitted, …) of this worker's client id, written before this connection
      │ connect → IB's report taken: ib.trades() right after the sync (ib_insync empties its list on a
      │ drop, so it holds only what the gateway reported) → the reconcile is written
      ▼
    in the report, or an IB event moves it on ────────────────────────────▶ left alone
    not in the report ── row older than PHANTOM_AGE, re-checked on the recorder thread
                         (still open, still unknown) ─────────────────────▶ UnknownToIB + reason

Why a worker extension and not part of reconcile_apply: the rule needs a clock (a row younger than
PHANTOM_AGE may still be answered) and the reconnect's own report, and the reconcile runs once per
connect. The extension (`on_connected`/`on_stop`, as IntentExecutor) snapshots the report once the
reconcile is written, waits until each suspect is old enough, and hands the close-out to the recorder,
so it is ordered with every IB event for the same row and never overwrites a status IB gave.

The report is frozen at connect: a trade this connection places later is not evidence about an older
row (IB may hand an id it never received out again). Rows this connection writes are not suspects.
Every connection's worker runs it, over its own connection's rows only: another gateway's report says
nothing about orders it never held (two gateways may each have a client 1 with the same order ids).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from django.db.models import Max
from django.utils import timezone

from trading.live import live_event
from trading.models import DEFAULT_CONNECTION, ActivityKind, Order, OrderStatus
from trading.models.activity import Severity
from trading.worker.store import activity_write, order_event

log = logging.getLogger("trading.worker.phantoms")

PHANTOM_AGE = 60.0  # seconds; tests shorten it (PhantomSweeper(age=…))
UNKNOWN_TO_IB = (
    "IB does not know order {order_id} ({action} {quantity:g} {symbol}) after the reconnect of {connected}: "
    "closed out — it never reached IB, so nothing is working"
)


class PhantomSweeper:
    """A worker extension (see IBWorker.extensions): closes out phantom order rows after each connect."""

    def __init__(self, *, age: float = PHANTOM_AGE):
        self.age = age
        self._task: asyncio.Task | None = None

    async def on_connected(self, worker) -> None:
        # Before any await, so no order of this connection can be among them: the rows written before
        # now are the suspects, and ib.trades() is exactly what the gateway reported in the sync.
        connected_at = timezone.now()
        reported = reported_orders(worker.ib.trades(), worker.ib.client.clientId)
        await self._cancel()
        # IB's nextValidId is above the ids it received, not above the ones it never got: without this
        # a new order could take a phantom's id and IB's answers would land on the phantom's row.
        try:
            highest = await worker.db(
                order_id_highest, mode=worker.mode, connection=worker.connection, client_id=worker.ib.client.clientId
            )
            worker.ib.client.updateReqId(highest + 1)
        except Exception as exc:  # the database may be down: never fail the connect over this
            log.warning("next order id not checked against recorded orders: %s: %s", type(exc).__name__, exc)
        self._task = asyncio.create_task(self._sweep(worker, connected_at, reported), name="phantom-sweep")

    async def on_stop(self, worker) -> None:
        await self._cancel()

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _sweep(self, worker, connected_at: dt.datetime, reported: tuple[set[int], set[int]]) -> None:
        try:
            await self._sweep_once(worker, connected_at, *reported)
        except asyncio.CancelledError:
            raise
        except Exception:  # e.g. the database is down: the rows stay open, the next connect looks again
            log.exception("phantom order sweep failed")

    async def _sweep_once(self, worker, connected_at: dt.datetime, order_ids: set[int], perm_ids: set[int]) -> None:
        await worker.recorder.written_through()  # this connection's reconcile is written (a steady stream may follow)
        client_id = worker.ib.client.clientId
        handed: set[int] = set()  # each row is judged once per connection
        while worker.synced:
            suspects = await worker.db(
                phantom_suspects, mode=worker.mode, connection=worker.connection, client_id=client_id, before=connected_at,
                order_ids=order_ids, perm_ids=perm_ids,
            )  # fmt: skip
            suspects = [(pk, created) for pk, created in suspects if pk not in handed]
            if not suspects:
                return
            now = timezone.now()
            due = [pk for pk, created in suspects if (now - created).total_seconds() >= self.age]
            if not due:
                wait = min(self.age - (now - created).total_seconds() for _, created in suspects)
                await asyncio.sleep(max(wait, 0.05))  # a timer, not synchronisation: the rule is an age
                continue
            handed.update(due)
            worker.recorder.submit(
                phantoms_close, mode=worker.mode, connection=worker.connection, row_ids=due, order_ids=order_ids,
                perm_ids=perm_ids,
                connected=connected_at.isoformat(timespec="seconds"),
            )  # fmt: skip
            await worker.recorder.written_through()


def order_id_highest(*, mode: str, client_id: int, connection: str = DEFAULT_CONNECTION) -> int:
    rows = Order.objects.filter(mode=mode, connection=connection, client_id=client_id)
    return rows.aggregate(top=Max("order_id"))["top"] or 0


def reported_orders(trades, client_id: int) -> tuple[set[int], set[int]]:
    """Order ids (of this client) and permIds IB reported: what the gateway knows after the sync."""
    order_ids = {t.order.orderId for t in trades if t.order.clientId == client_id and t.order.orderId > 0}
    perm_ids = {t.order.permId for t in trades if t.order.permId}
    return order_ids, perm_ids


def _unknown(row: Order, order_ids: set[int], perm_ids: set[int]) -> bool:
    if row.perm_id and row.perm_id in perm_ids:
        return False
    return not (row.order_id > 0 and row.order_id in order_ids)


def phantom_suspects(
    *,
    mode: str,
    client_id: int,
    before: dt.datetime,
    order_ids: set[int],
    perm_ids: set[int],
    connection: str = DEFAULT_CONNECTION,
) -> list[tuple[int, dt.datetime]]:
    """(row id, created_at) of this connection's open rows of this client written before the connect that
    IB did not report."""
    rows = Order.objects.filter(
        mode=mode,
        connection=connection,
        client_id=client_id,
        status__in=OrderStatus.open_values(),
        dry_run=False,
        created_at__lt=before,
    )
    return [(row.pk, row.created_at) for row in rows if _unknown(row, order_ids, perm_ids)]


def phantoms_close(
    *,
    mode: str,
    row_ids: list[int],
    order_ids: set[int],
    perm_ids: set[int],
    connected: str,
    connection: str = DEFAULT_CONNECTION,
) -> list[dict]:
    """On the recorder thread: each row still open and still unknown becomes UnknownToIB, with a reason.

    The IB order id is cleared (it stays in the reason): IB may hand an id it never received out again."""
    events = []
    for row in Order.objects.filter(pk__in=row_ids, connection=connection, status__in=OrderStatus.open_values()):
        if not _unknown(row, order_ids, perm_ids):
            continue
        reason = UNKNOWN_TO_IB.format(
            order_id=row.order_id, action=row.action, quantity=float(row.total_quantity), symbol=row.symbol,
            connected=connected,
        )  # fmt: skip
        Order.objects.filter(pk=row.pk, status=row.status).update(
            status=OrderStatus.UNKNOWN_TO_IB, order_id=0, remaining=0, last_error=reason
        )
        row.refresh_from_db()
        events.append(live_event("order.status", order_event(row), mode=mode))
        events += activity_write(
            mode=mode, connection=connection, account=row.account, kind=ActivityKind.ORDER, message=f"closed out: {reason}",
            severity=Severity.WARNING,
            payload={"order": row.pk, "order_ref": row.order_ref, "status": row.status, "reason": reason},
        )  # fmt: skip
        log.warning("order row #%s closed out: %s", row.pk, reason)
    return events
