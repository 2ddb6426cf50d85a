"""A `reads_only` run carried in its hand-off, so its worker starts the body without reading it back.

A submission has just written the run's row and read the settings the run executes under
(`run_submit`); for a run of an intent that reads only (`summary`), the direct hand-off to the worker
(`run_enqueue`) carries both, signed with SECRET_KEY. The worker then starts the body at once: no hop
to its database thread and no two queries (the row, the settings) before it.

Nothing else changes: the claim with the outcome (`run_claim_finish`) still decides, on the database,
that the run is still queued, was started before its deadline, is this worker's connection's and that
this worker holds the live lease; a run is still recorded at most once. A reads_only body places,
changes and cancels nothing (`NoOrders`), so the settings it runs under are those in force when it was
submitted, a few milliseconds earlier. A hand-off that does not verify (another SECRET_KEY, a message
not from a submission) or that this worker could not take as it is — another connection's, another
mode's settings, another account's, past its deadline, an intent that does not read only — is read
from the database as before (`handoff_take` returns None). The q2 task's hand-off and the worker's
sweep carry only the run's id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core import signing
from django.utils import timezone

from trading.config import EffectiveConfig
from trading.intents.registry import IntentNotFound, intent_get
from trading.models import IntentRun, RunStatus

log = logging.getLogger("trading.intents")

SALT = "trading.intents.handoff"


def handoff_pack(run: IntentRun, config: EffectiveConfig) -> str:
    """The run as inserted and the settings it runs under, signed (for the `run` key of a `run.execute`)."""
    fields = {}
    for field in IntentRun._meta.concrete_fields:
        value = field.value_from_object(run)
        fields[field.attname] = value.isoformat() if isinstance(value, datetime) else value
    return signing.dumps({"run": fields, "config": config.as_dict()}, salt=SALT)


def handoff_take(
    carried, run_id: int, *, connection: str, mode: str, default_account: str = ""
) -> tuple[IntentRun, EffectiveConfig] | None:
    """The carried run and its settings, when this worker may start its body without reading them:
    it verifies, it is run `run_id`, of an intent that reads only, queued, before its start deadline,
    of this worker's `connection`, under this worker's `mode` and the account `run_config` would read
    (the run's own, or none when this worker names no default). Else None: read them from the database."""
    try:
        data = signing.loads(carried, salt=SALT)
        fields, settings = data["run"], data["config"]
    except (signing.BadSignature, TypeError, KeyError):
        log.warning("run #%s: its hand-off did not verify (SECRET_KEY differs?); reading the run instead", run_id)
        return None
    run = IntentRun(**{field.attname: field.to_python(fields[field.attname]) for field in IntentRun._meta.concrete_fields})
    run._state.adding, run._state.db = False, "default"
    try:
        reads_only = intent_get(run.intent).reads_only
    except IntentNotFound:  # an intent this worker does not know: the fetch path says so
        return None
    config = EffectiveConfig.from_dict(settings)
    takeable = (
        reads_only
        and run.pk == run_id
        and run.status == RunStatus.QUEUED
        and run.start_deadline is not None
        and run.start_deadline > timezone.now()
        and run.connection == connection
        and config.mode == mode
        and (bool(run.account) or not default_account)  # the account run_config would read is the run's
    )
    return (run, config) if takeable else None
