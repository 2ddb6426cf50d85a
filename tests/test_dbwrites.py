"""trading/dbwrites.py: an UPDATE and, only when it matched, an INSERT, committed together (on
PostgreSQL as one statement). Runs on both backends in CI."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from trading.dbwrites import insert_then_entry, update_then_insert
from trading.models import ActivityEntry, ActivityKind, IntentRun, RunSource, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def queued_run() -> IntentRun:
    return IntentRun.objects.create(intent="summary", source=RunSource.API, start_deadline=timezone.now() + timedelta(seconds=60))


def entry_of(run_id: int | None, message: str = "done") -> ActivityEntry:
    return ActivityEntry(kind=ActivityKind.INTENT_RUN, message=message, run_id=run_id, payload={"status": "succeeded"})


def test_the_update_and_the_entry_land_together_and_the_entry_is_as_saved():
    run = queued_run()
    entry = entry_of(run.pk)
    before = timezone.now()

    assert update_then_insert(
        IntentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED), {"status": RunStatus.SUCCEEDED, "result": {"a": [1]}}, entry
    )

    row = IntentRun.objects.get(pk=run.pk)
    assert (row.status, row.result) == (RunStatus.SUCCEEDED, {"a": [1]})
    assert entry.pk is not None and not entry._state.adding
    saved = ActivityEntry.objects.get(pk=entry.pk)
    assert (saved.run_id, saved.message, saved.payload, saved.connection) == (run.pk, "done", {"status": "succeeded"}, "default")
    assert saved.created_at >= before and saved.created_at == entry.created_at


def test_nothing_is_written_when_the_update_matches_no_row():
    run = queued_run()
    entries = ActivityEntry.objects.count()

    assert not update_then_insert(
        IntentRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING), {"status": RunStatus.SUCCEEDED}, entry_of(run.pk)
    )

    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert ActivityEntry.objects.count() == entries


def test_an_entry_that_cannot_be_written_takes_the_update_back_with_it():
    run = queued_run()
    entries = ActivityEntry.objects.count()

    with pytest.raises(IntegrityError):  # the entry names a run that does not exist
        update_then_insert(IntentRun.objects.filter(pk=run.pk), {"status": RunStatus.SUCCEEDED}, entry_of(run.pk + 1000))

    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED
    assert ActivityEntry.objects.count() == entries


def test_on_postgresql_it_is_one_statement_and_inside_a_transaction_it_joins_it():
    run = queued_run()
    with CaptureQueriesContext(connection) as queries:
        update_then_insert(IntentRun.objects.filter(pk=run.pk), {"status": RunStatus.RUNNING}, entry_of(run.pk, "first"))
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH updated AS (UPDATE"), statements
    else:
        assert any(s.startswith("UPDATE") for s in statements) and any(s.startswith("INSERT") for s in statements), statements

    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        assert update_then_insert(
            IntentRun.objects.filter(pk=run.pk), {"status": RunStatus.SUCCEEDED}, entry_of(run.pk, "second")
        )
        raise RuntimeError("rolled back")
    assert IntentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    assert list(ActivityEntry.objects.filter(run_id=run.pk).values_list("message", flat=True)) == ["first"]


# ----- insert_then_entry: a row and the entry that names it -------------------------------------


def new_run(key: str | None = None) -> IntentRun:
    return IntentRun(
        intent="summary", source=RunSource.API, idempotency_key=key, start_deadline=timezone.now() + timedelta(seconds=60)
    )


def test_the_row_and_its_entry_land_together_and_are_as_saved():
    run, entry = new_run("k1"), entry_of(None, "")
    before = timezone.now()

    insert_then_entry(run, entry, link="run", message=("run #", " summary queued"))

    assert run.pk is not None and not run._state.adding and not entry._state.adding
    row = IntentRun.objects.get(pk=run.pk)
    assert (row.idempotency_key, row.created_at) == ("k1", run.created_at)
    saved = ActivityEntry.objects.get(pk=entry.pk)
    assert (saved.run_id, saved.message, entry.run_id, entry.message) == (run.pk, f"run #{run.pk} summary queued", run.pk, saved.message)
    assert (saved.payload, saved.connection, saved.created_at) == ({"status": "succeeded"}, "default", entry.created_at)
    assert saved.created_at >= before


def test_a_row_that_breaks_a_unique_constraint_writes_nothing():
    insert_then_entry(new_run("same"), entry_of(None, ""), link="run", message=("run #", " first"))
    runs, entries = IntentRun.objects.count(), ActivityEntry.objects.count()

    with pytest.raises(IntegrityError):
        insert_then_entry(new_run("same"), entry_of(None, ""), link="run", message=("run #", " second"))

    assert (IntentRun.objects.count(), ActivityEntry.objects.count()) == (runs, entries)
    assert not ActivityEntry.objects.filter(message__endswith=" second").exists()


def test_an_entry_that_cannot_be_written_takes_the_row_back_with_it():
    runs = IntentRun.objects.count()
    entry = entry_of(None, "")
    entry.actor_id = 987654  # no such user

    with pytest.raises(IntegrityError):
        insert_then_entry(new_run(), entry, link="run", message=("run #", " queued"))

    assert IntentRun.objects.count() == runs


def test_a_long_message_is_cut_to_its_column_on_every_path():
    run, entry = new_run(), entry_of(None, "")

    insert_then_entry(run, entry, link="run", message=("run #", " " + "x" * 600))

    saved = ActivityEntry.objects.get(pk=entry.pk).message
    assert saved.startswith(f"run #{run.pk} xx") and len(saved) <= 500 and saved == entry.message


def test_the_pair_is_one_statement_on_postgresql_and_joins_a_transaction_it_is_in():
    with CaptureQueriesContext(connection) as queries:
        insert_then_entry(new_run(), entry_of(None, ""), link="run", message=("run #", " one"))
    statements = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH inserted AS (INSERT"), statements
    else:
        assert sum(s.startswith("INSERT") for s in statements) == 2, statements

    runs = IntentRun.objects.count()
    with pytest.raises(RuntimeError, match="rolled back"), transaction.atomic():
        insert_then_entry(new_run(), entry_of(None, ""), link="run", message=("run #", " two"))
        raise RuntimeError("rolled back")
    assert IntentRun.objects.count() == runs
    assert not ActivityEntry.objects.filter(message__endswith=" two").exists()
