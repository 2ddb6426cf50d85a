"""The task queue's records: recording a task reads none of the kept ones, and the successes are pruned
to the newest TASK_SUCCESSES_KEPT in one DELETE, from q2's `post_execute`, at most once per interval.

Before, q2 pruned by itself at every save (its default `save_limit` 250): it read every kept success,
pickled arguments and result included, inside a transaction (on SQLite, holding the file's write lock):
~14 ms per intent run's task once 250 were kept, with the next request's INSERT and the worker's writes
waiting behind it.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.humanhash import uuid
from django_q.models import Failure, Success, Task
from django_q.monitor import save_task
from django_q.signals import post_execute

from trading import taskrecords
from trading.taskrecords import TASK_SUCCESSES_KEPT, task_successes_prune

pytestmark = pytest.mark.django_db


def package(n: int, *, success: bool = True) -> dict:
    """A finished task as q2's monitor receives it from a cluster worker (`sync`: the monitor does not
    close the connection first, which would end the test's transaction)."""
    stopped = timezone.now() - timedelta(hours=1) + timedelta(seconds=n)
    return {
        "id": uuid()[1], "name": f"intent-run-{n}", "func": "trading.intents.tasks.intent_task", "args": (n, None, True),
        "kwargs": {}, "started": stopped - timedelta(milliseconds=20), "stopped": stopped,
        "result": {"account": "DU1", "rows": list(range(50))}, "success": success, "group": None, "hook": None,
        "sync": True,
    }  # fmt: skip


def recorded(count: int, *, success: bool = True, first: int = 0) -> list[str]:
    ids = []
    for n in range(first, first + count):
        task = package(n, success=success)
        save_task(task, None)
        ids.append(task["id"])
    return ids


@pytest.fixture
def interval_fresh(monkeypatch):
    """This process has not pruned yet (another test's prune does not count)."""
    monkeypatch.setattr(taskrecords, "_pruned_at", None)


def test_recording_a_task_reads_none_of_the_kept_ones():
    recorded(30)
    with CaptureQueriesContext(connection) as queries:
        save_task(package(99), None)

    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert all('"django_q_task"."id" =' in sql for sql in reads), reads  # its own row only: q2 looks for a retry
    assert Success.objects.count() == 31, "q2 pruned by itself"


def test_the_newest_successes_are_kept_and_every_failure(monkeypatch):
    monkeypatch.setattr(taskrecords, "TASK_SUCCESSES_KEPT", 5)
    old = recorded(4)
    failures = recorded(3, success=False, first=4)
    newest = recorded(5, first=7)

    with CaptureQueriesContext(connection) as queries:
        assert task_successes_prune(kept=5) == 4
    assert len([q for q in queries.captured_queries if q["sql"].startswith("DELETE")]) == 1, "one statement"

    assert set(Success.objects.values_list("id", flat=True)) == set(newest)
    assert set(Failure.objects.values_list("id", flat=True)) == set(failures)
    assert not Task.objects.filter(id__in=old).exists()
    assert task_successes_prune(kept=5) == 0


def test_the_monitor_prunes_after_recording_at_most_once_per_interval(monkeypatch, interval_fresh):
    monkeypatch.setattr(taskrecords, "task_successes_prune", lambda kept=None: pruned.append(kept) or 0)
    clock = [1000.0]
    monkeypatch.setattr(taskrecords.time, "monotonic", lambda: clock[0])
    pruned: list[int] = []

    post_execute.send(sender="django_q", task=package(1))  # the receiver is connected when Django starts
    post_execute.send(sender="django_q", task=package(2))
    clock[0] += taskrecords.PRUNE_INTERVAL - 1
    post_execute.send(sender="django_q", task=package(3))
    assert pruned == [TASK_SUCCESSES_KEPT]

    clock[0] += 1
    post_execute.send(sender="django_q", task=package(4))
    assert pruned == [TASK_SUCCESSES_KEPT] * 2


def test_the_monitor_prunes_the_records_for_real(monkeypatch, interval_fresh):
    monkeypatch.setattr(taskrecords, "TASK_SUCCESSES_KEPT", 3)
    recorded(6)
    last = package(6)
    save_task(last, None)
    post_execute.send(sender="django_q", task=last)

    assert Success.objects.count() == 3 and Success.objects.filter(id=last["id"]).exists()


def test_a_prune_that_fails_is_logged_and_the_monitor_goes_on(monkeypatch, interval_fresh, caplog):
    def database_away(kept=None):
        raise ConnectionError("the database is away")

    monkeypatch.setattr(taskrecords, "task_successes_prune", database_away)
    post_execute.send(sender="django_q", task=package(1))

    assert "could not prune the task queue's successful task records: ConnectionError" in caplog.text
