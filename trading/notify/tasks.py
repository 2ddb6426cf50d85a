"""The q2 side: `notify_tick` (a schedule every minute, and kicked after notifiable activity) runs one
step — feed, then deliver — and returns at once: a q2 worker waiting for a rate window to end is one the
intent runs cannot have (with Q_WORKERS=2, two sleeping ticks held a run's task back for a minute). A
message due within HOLD seconds is left to a timer in this process that kicks the next tick then; the
every-minute schedule is the backstop. Interfaces only; the work is in feed.py and outbox.py, which tests
drive with their own clock."""

from __future__ import annotations

import logging
import threading
import time as monotonic_time
from datetime import datetime, timedelta

from django.utils import timezone

from trading.models import NotifyKind, NotifySend
from trading.notify.feed import feed_step
from trading.notify.messages import item_make
from trading.notify.outbox import outbox_add, outbox_deliver, outbox_next_due
from trading.notify.sender import apprise_send
from trading.notify.targets import Target

TICK_FUNC = "trading.notify.tasks.notify_tick"
TICK_SCHEDULE = "notifications (every minute)"  # made by migration 0007_notifications
HOLD = timedelta(seconds=12)  # a burst's summary goes out at the end of its rate window, not at the next schedule
KICK_EVERY = 1.0
KICKER_IDLE = 60.0  # an idle kicker thread ends; the next kick starts another
log = logging.getLogger("trading.notify")
kick_counts = {"enqueued": 0, "failed": 0}
_wake = threading.Event()
_kick_lock = threading.Lock()
_kicker: threading.Thread | None = None


def notify_step(*, now: datetime | None = None, send=apprise_send) -> int:
    """One pass: queue what the log says, then attempt what is due. Returns the sends attempted."""
    now = now or timezone.now()
    feed_step(now=now)
    return outbox_deliver(now=now, send=send)


def notify_tick() -> None:
    notify_step()
    due = outbox_next_due()
    if due is None:
        return
    wait = (due - timezone.now()).total_seconds()
    if wait <= HOLD.total_seconds():
        timer = threading.Timer(max(wait, 0.05), notify_kick)  # the next tick when it is due, not a sleeping worker
        timer.daemon = True
        timer.start()


def notify_test_queue(*, target: Target, user=None, now: datetime | None = None) -> NotifySend:
    who = getattr(user, "username", None) or "the console"
    item = item_make(title="Test message from the IB trading console", line="test", body=f"Sent on request of {who}.")
    send = outbox_add(target=target, kind=NotifyKind.TEST, item=item, now=now or timezone.now())
    notify_kick()
    return send


def notify_kick() -> None:
    """Ask the cluster for a tick soon. Never blocks nor raises: one kicker thread per process enqueues
    at most one tick a second (a kick during that second is carried to the next, not dropped), so a
    hung broker never holds up the caller (an activity write, the worker's recorder). When Redis or the
    cluster is down the every-minute schedule, reading from the cursor, catches up."""
    global _kicker
    _wake.set()
    with _kick_lock:
        if _kicker is None or not _kicker.is_alive():  # not alive: a thread inherited through fork
            _kicker = threading.Thread(target=_kick_loop, name="notify-kick", daemon=True)
            _kicker.start()


def _kick_loop() -> None:
    global _kicker
    while True:
        if not _wake.wait(timeout=KICKER_IDLE):
            with _kick_lock:  # a kick racing this exit either sees no kicker (and starts one) or is seen here
                if not _wake.is_set():
                    _kicker = None
                    return
            continue
        _wake.clear()
        _enqueue_tick()
        monotonic_time.sleep(KICK_EVERY)


def _enqueue_tick() -> bool:
    try:
        from django_q.tasks import async_task

        async_task(TICK_FUNC, group="notify")
    except Exception as exc:
        kick_counts["failed"] += 1
        log.debug("notification tick not enqueued (%s); the schedule will pick the entries up", type(exc).__name__)
        return False
    kick_counts["enqueued"] += 1
    return True
