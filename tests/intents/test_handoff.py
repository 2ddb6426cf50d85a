"""A `reads_only` run carried in its hand-off (trading/intents/handoff.py): the worker starts the body from
the run and the settings the submission signed, without reading them back, and the claim with the outcome
still decides on the database. A hand-off that does not verify, or that this worker cannot take as it is,
is read from the database as before."""

import dataclasses
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.utils import timezone

from tests.harness import wait_until
from tests.intents.conftest import executing_worker
from trading.config import effective_config
from trading.intents import Intent, IntentParams, intent_register
from trading.intents import executor as executor_module
from trading.intents.handoff import SALT, handoff_pack, handoff_take
from trading.intents.runs import run_submit, run_wait
from trading.live import worker_command_send
from trading.models import ActivityEntry, IntentRun, RunSource, RunStatus


@intent_register
class WritesAndSaysSo(Intent):
    """Does not read only (so it is claimed before its body); answers with the note it was given."""

    name = "test_not_reads_only"
    requires_ib = False

    class Params(IntentParams):
        note: str = ""

    async def run(self, ctx, params):
        return {"note": params.note}


@intent_register
class ReadsWhatItWasGiven(Intent):
    """Reads only; answers with the note it was given and the settings it ran under."""

    name = "test_reads_given"
    requires_ib = False
    reads_only = True

    class Params(IntentParams):
        note: str = ""

    async def run(self, ctx, params):
        return {"note": params.note, "limit_offset_bps": str(ctx.config.limit_offset_bps), "account": ctx.run.account}


def queued_run(intent: str = "test_reads_given", **fields) -> IntentRun:
    fields = {"start_deadline": timezone.now() + timedelta(seconds=60), "connection": "default", **fields}
    return IntentRun.objects.create(intent=intent, source=RunSource.API, **fields)


def take(carried, run: IntentRun, **overrides):
    where = {"connection": "default", "mode": effective_config().mode, "default_account": "", **overrides}
    return handoff_take(carried, run.pk, **where)


def forged(run: IntentRun, config, **changes) -> str:
    """The hand-off of `run` with `changes`, signed with a key that is not this console's."""
    data = signing.loads(handoff_pack(run, config), salt=SALT)
    data["run"].update(changes)
    return signing.dumps(data, salt=SALT, key="k" * 50)


def row_fields(run: IntentRun) -> dict:
    return {field.attname: field.value_from_object(run) for field in IntentRun._meta.concrete_fields}


# ----- packing and taking ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_run_and_its_settings_come_back_exactly_as_submitted():
    run = queued_run(params={"note": "x"}, account="DU1", dry_run=True)
    run.refresh_from_db()
    config = dataclasses.replace(effective_config(), limit_offset_bps=Decimal("12.345"), max_order_notional=None)

    taken = take(handoff_pack(run, config), run)

    assert taken is not None
    carried, settings = taken
    assert row_fields(carried) == row_fields(run)
    assert settings == config and isinstance(settings.limit_offset_bps, Decimal)
    assert not carried._state.adding


@pytest.mark.django_db
def test_a_hand_off_that_does_not_verify_is_not_taken(caplog):
    run = queued_run()
    config = effective_config()
    packed = handoff_pack(run, config)
    payload, signature = packed.rsplit(":", 1)
    flipped = f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"

    assert take(forged(run, config, params={"note": "x"}), run) is None, "signed with another key"
    assert take(flipped, run) is None, "its signature altered"
    assert take(signing.dumps({"run": {}}, salt=SALT), run) is None, "no settings in it"
    assert take({"run": {}}, run) is None, "not a signed string at all"
    assert "could not be read" in caplog.text


@pytest.mark.django_db
def test_a_run_this_worker_could_not_take_as_it_is_is_not_taken():
    config = effective_config()
    run = queued_run()
    packed = handoff_pack(run, config)
    other_mode = "live" if config.mode == "paper" else "paper"

    assert take(packed, run) is not None
    assert handoff_take(packed, run.pk + 1, connection="default", mode=config.mode) is None, "another run's id"
    assert take(packed, run, connection="desk2") is None, "another connection's worker"
    assert take(packed, run, mode=other_mode) is None, "a worker under the other mode"
    assert take(packed, run, default_account="DU9") is None, "this worker would read its default account's settings"
    assert take(handoff_pack(queued_run(account="DU1"), config), IntentRun.objects.latest("pk"), default_account="DU9")

    late = queued_run(start_deadline=timezone.now() - timedelta(seconds=1))
    assert take(handoff_pack(late, config), late) is None, "past its start deadline"
    running = queued_run(status=RunStatus.RUNNING)
    assert take(handoff_pack(running, config), running) is None, "not queued"


# ----- on a real worker --------------------------------------------------------------------------


@pytest.fixture
def quiet_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """A connected worker that executes runs only when handed them (its sweep waits an hour)."""
    worker = executing_worker(paper_gateway, tmp_path, sweep_interval=3600)
    yield worker
    worker.stop()


@pytest.fixture
def fetches(monkeypatch):
    """The runs the worker read from the database before running them (executor._fetch_and_claim)."""
    seen: list[int] = []
    fetch = executor_module._fetch_and_claim

    def counted(run_id, *args, **kwargs):
        seen.append(run_id)
        return fetch(run_id, *args, **kwargs)

    monkeypatch.setattr(executor_module, "_fetch_and_claim", counted)
    return seen


def outcome_entries(run: IntentRun) -> list[str]:
    return list(ActivityEntry.objects.filter(run=run).exclude(message__contains="queued").values_list("message", flat=True))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_submitted_reads_only_run_starts_without_the_worker_reading_it_and_is_recorded_once(quiet_worker, fetches):
    run, _ = run_submit(intent="test_reads_given", params={"note": "n"}, dry_run=False, source=RunSource.API, check_worker=False)

    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.SUCCEEDED and done.result["note"] == "n"
    assert done.lease_token == quiet_worker.worker.lease.token
    assert fetches == [], "the hand-off carried the run and its settings"
    assert outcome_entries(run) == [f"run #{run.pk} test_reads_given succeeded"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_body_runs_with_what_the_hand_off_carried_and_the_claim_decides_on_the_row(quiet_worker, fetches):
    run = queued_run(params={"note": "row"})
    carried = IntentRun.objects.get(pk=run.pk)
    carried.params = {"note": "carried"}
    given = dataclasses.replace(effective_config(), limit_offset_bps=Decimal("12.34"))
    assert effective_config().limit_offset_bps != given.limit_offset_bps

    worker_command_send({"type": "run.execute", "run_id": run.pk, "run": handoff_pack(carried, given)})
    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.SUCCEEDED
    assert (done.result["note"], done.result["limit_offset_bps"]) == ("carried", "12.34")
    assert fetches == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_hand_off_that_does_not_verify_runs_the_run_as_its_row_says(quiet_worker, fetches):
    run = queued_run(params={"note": "row"})
    config = effective_config()
    worker_command_send({"type": "run.execute", "run_id": run.pk, "run": forged(run, config, params={"note": "forged"})})
    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.SUCCEEDED
    assert (done.result["note"], done.result["limit_offset_bps"]) == ("row", str(config.limit_offset_bps))
    assert fetches == [run.pk]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_carried_run_recorded_elsewhere_meanwhile_keeps_that_and_its_body_is_dropped(quiet_worker, fetches, caplog):
    caplog.set_level(logging.INFO, logger="trading.intents")
    run = queued_run()
    packed = handoff_pack(run, effective_config())  # as submitted: queued
    IntentRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, lease_token=99, result={"elsewhere": True})

    worker_command_send({"type": "run.execute", "run_id": run.pk, "run": packed})
    dropped = f"run #{run.pk} test_reads_given: not claimed after its body"
    wait_until(lambda: dropped in caplog.text, what="the body to end unclaimed")

    row = IntentRun.objects.get(pk=run.pk)
    assert (row.status, row.lease_token, row.result) == (RunStatus.SUCCEEDED, 99, {"elsewhere": True})
    assert outcome_entries(run) == []
    assert fetches == [], "taken from the hand-off: only the claim read the row"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_carried_run_of_an_intent_that_does_not_read_only_is_read_and_claimed_as_any_other(quiet_worker, fetches):
    run = queued_run(intent="test_not_reads_only", params={"note": "row"})
    carried = IntentRun.objects.get(pk=run.pk)
    carried.params = {"note": "carried"}

    worker_command_send({"type": "run.execute", "run_id": run.pk, "run": handoff_pack(carried, effective_config())})
    done = run_wait(run.pk, timeout=20)

    assert done.status == RunStatus.SUCCEEDED and done.result["note"] == "row"
    assert fetches == [run.pk]
