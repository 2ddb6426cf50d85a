"""django-q2's task records: the newest TASK_SUCCESSES_KEPT successful ones are kept, pruned in one DELETE.

q2 prunes by itself when its `save_limit` is positive, but at every save: it loads every kept success
(each row's pickled arguments and result) inside a transaction, which on SQLite holds the file's write
lock (the console's transactions begin IMMEDIATE). With q2's 250 kept, every intent run's task took
~14 ms to record, writers waiting meanwhile: the next request's run INSERT, the worker's claims and fills.
The console sets `save_limit` to 0 (q2 prunes nothing: console/settings.py) and prunes here instead,
from the cluster's monitor after it records a task (q2's `post_execute`), at most once per PRUNE_INTERVAL.
Failures are never pruned: they stay until someone deletes them in the admin.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("trading.taskrecords")

TASK_SUCCESSES_KEPT = 250  # q2's own default `save_limit`
PRUNE_INTERVAL = 60.0  # seconds between prunes: the successes kept exceed the limit by a minute's worth at most

_pruned_at: float | None = None  # monotonic time of this process's last prune


def task_successes_prune(kept: int | None = None) -> int:
    """Delete the successful task records older than the newest `kept` (TASK_SUCCESSES_KEPT); returns
    how many went."""
    from django_q.models import Success

    kept = TASK_SUCCESSES_KEPT if kept is None else kept
    newest = Success.objects.order_by("-stopped", "-id").values("id")[:kept]
    deleted, _ = Success.objects.exclude(id__in=newest).delete()
    return deleted


def task_recorded(sender, task: dict, **kwargs) -> None:
    """q2's `post_execute` (the monitor has recorded `task`): prune, unless this process did so within
    PRUNE_INTERVAL. A failure is logged, never raised: the monitor goes on recording."""
    global _pruned_at
    now = time.monotonic()
    if _pruned_at is not None and now - _pruned_at < PRUNE_INTERVAL:
        return
    _pruned_at = now
    try:
        deleted = task_successes_prune(TASK_SUCCESSES_KEPT)
    except Exception as exc:  # the database is away: the next interval tries again
        log.warning("could not prune the task queue's successful task records: %s: %s", type(exc).__name__, exc)
        return
    if deleted:
        log.info("pruned %d successful task records (the newest %d are kept)", deleted, TASK_SUCCESSES_KEPT)
