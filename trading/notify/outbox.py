"""The outbox: one `NotifySend` row per message, its life cycle, the rate limit and the retries.

    pending ──claim (conditional UPDATE)──▶ sending ──▶ sent
       ▲  gathers the events of a burst         │
       └──── failed attempt, backoff ◀──────────┴──▶ failed (after MAX_ATTEMPTS, or its target is gone)

Invariants: at most one message per (target, kind) per RATE_SECONDS — an event for a pair with a
pending, never-tried row joins it, so a burst becomes one summary; a row is attempted by one process
only (the claim's row count decides); items join only a row still pending and untried (a conditional
UPDATE), so nothing is added to a message already rendered; a `sending` row left by a dead process
returns to pending after STUCK.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F, Max, Min

from trading.models import NotifySend, SendStatus
from trading.notify.messages import message_render
from trading.notify.sender import apprise_send
from trading.notify.targets import Target, secret_scrub, target_get

RATE_SECONDS = 10
MAX_ATTEMPTS = 5
STUCK = timedelta(minutes=5)
TARGET_GONE = "the target was removed (or its NOTIFY_URLS item) before the message went out"
log = logging.getLogger("trading.notify")


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: 10 s, 20 s, 40 s, 80 s (never sooner than the rate limit)."""
    return timedelta(seconds=RATE_SECONDS * 2 ** (attempts - 1))


def outbox_add(*, target: Target, kind: str, item: dict, now: datetime) -> NotifySend:
    """Queue `item` for `target`: into the pair's pending untried row if there is one, else a new row."""
    pending = (
        NotifySend.objects.filter(target_key=target.key, kind=kind, status=SendStatus.PENDING, attempts=0).order_by("-id").first()
    )
    if pending is not None:
        items = [*pending.items, item]
        joined = NotifySend.objects.filter(pk=pending.pk, status=SendStatus.PENDING, attempts=0).update(items=items)
        if joined:
            pending.items = items
            return pending
    return NotifySend.objects.create(
        target_id=target.target_id,
        target_key=target.key,
        target_label=target.label,
        kind=kind,
        items=[item],
        due_at=now,
    )


def outbox_deliver(*, now: datetime, send=apprise_send, limit: int = 50) -> int:
    """Attempt every due row (oldest first) whose pair's rate allows; returns how many were attempted."""
    NotifySend.objects.filter(status=SendStatus.SENDING, attempted_at__lt=now - STUCK).update(status=SendStatus.PENDING)
    attempted = 0
    for row in NotifySend.objects.filter(status=SendStatus.PENDING, due_at__lte=now).order_by("due_at", "id")[:limit]:
        opens = _rate_opens(row)
        if opens is not None and now < opens:
            NotifySend.objects.filter(pk=row.pk, status=SendStatus.PENDING).update(due_at=opens)
            continue
        if _claim(row, now):
            _attempt(row, now=now, send=send)
            attempted += 1
    return attempted


def outbox_next_due() -> datetime | None:
    """When the earliest pending row is due (None: nothing pending)."""
    return NotifySend.objects.filter(status=SendStatus.PENDING).aggregate(due=Min("due_at"))["due"]


def _rate_opens(row: NotifySend) -> datetime | None:
    """When the pair (target, kind) may next be sent to: RATE_SECONDS after its last attempt."""
    last = (
        NotifySend.objects.filter(target_key=row.target_key, kind=row.kind, attempted_at__isnull=False)
        .exclude(pk=row.pk)
        .aggregate(last=Max("attempted_at"))["last"]
    )
    return last + timedelta(seconds=RATE_SECONDS) if last else None


def _claim(row: NotifySend, now: datetime) -> bool:
    claimed = NotifySend.objects.filter(pk=row.pk, status=SendStatus.PENDING, due_at__lte=now).update(
        status=SendStatus.SENDING, attempted_at=now, attempts=F("attempts") + 1
    )
    if claimed:
        row.refresh_from_db()
    return bool(claimed)


def _attempt(row: NotifySend, *, now: datetime, send) -> None:
    title, body, level = message_render(row.kind, row.items)
    target = target_get(row.target_key)
    if target is None:
        ok, error = False, TARGET_GONE
    else:
        try:
            ok, error = send(target.url, title=title, body=body, level=level)
        except Exception as exc:  # a plugin bug must not stop the other sends
            ok, error = False, f"{type(exc).__name__}: {exc}"
        error = secret_scrub(error, target.url)
    fields = {"title": title[:250], "body": body, "error": error[:500]}
    if ok:
        NotifySend.objects.filter(pk=row.pk).update(status=SendStatus.SENT, sent_at=now, **fields)
        log.info("sent %s to %s: %s", row.kind, row.target_label, title)
    elif target is None or row.attempts >= MAX_ATTEMPTS:
        NotifySend.objects.filter(pk=row.pk).update(status=SendStatus.FAILED, **fields)
        log.warning("gave up on %s to %s after %d attempt(s): %s", row.kind, row.target_label, row.attempts, error)
    else:
        due = now + backoff(row.attempts)
        NotifySend.objects.filter(pk=row.pk).update(status=SendStatus.PENDING, due_at=due, **fields)
        log.warning("%s to %s failed (attempt %d), retrying: %s", row.kind, row.target_label, row.attempts, error)
