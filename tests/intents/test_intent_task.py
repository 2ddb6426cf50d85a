"""The q2 task mirrors its run: a run the worker's sweep started before the task did is waited for.

Before, the task found the run `running` and failed at once ("still running past its timeout"), so a
run that then succeeded had a failed q2 task (and a test waiting for the task's success waited in vain).
"""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from trading.intents.runs import run_finish
from trading.intents.tasks import intent_task
from trading.models import IntentRun, RunSource, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_run_already_running_when_its_task_starts_is_waited_for_and_mirrored():
    now = timezone.now()
    run = IntentRun.objects.create(
        intent="summary", mode="paper", source=RunSource.API, status=RunStatus.RUNNING, dry_run=False,
        start_deadline=now + timedelta(seconds=30), started_at=now,
    )  # fmt: skip
    outcome, waiting = {}, threading.Event()

    def task():
        waiting.set()
        try:
            outcome["result"] = intent_task(run.pk)
        except Exception as exc:  # noqa: BLE001 - the test reports what the task raised
            outcome["error"] = exc

    thread = threading.Thread(target=task)
    thread.start()
    waiting.wait(10)
    run_finish(run.pk, status=RunStatus.SUCCEEDED, result={"account": "DU1"})
    thread.join(60)

    assert not thread.is_alive()
    assert outcome == {"result": {"account": "DU1"}}
