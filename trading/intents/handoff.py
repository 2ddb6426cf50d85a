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
mode's settings, another account's, past its deadline (`handoff_take` returns None), or an intent that
does not read only (the executor checks the class it runs) — is read from the database as before. The q2 task's hand-off and the worker's
sweep carry only the run's id.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core import signing
from django.db import models
from django.utils import timezone

from trading.config import EffectiveConfig
from trading.models import IntentRun, RunStatus

log = logging.getLogger("trading.intents")

SALT = "trading.intents.handoff"


_ATTNAMES = [field.attname for field in IntentRun._meta.concrete_fields]
_DATETIMES = [at for at, field in enumerate(IntentRun._meta.concrete_fields) if isinstance(field, models.DateTimeField)]


def handoff_pack(run: IntentRun, config: EffectiveConfig) -> str:
    """The run as inserted and the settings it runs under, signed (for the `run` key of a `run.execute`)."""
    fields = {}
    for name in _ATTNAMES:
        value = getattr(run, name)
        fields[name] = value.isoformat() if isinstance(value, datetime) else value
    return signing.dumps({"run": fields, "config": config.as_dict()}, salt=SALT)


def handoff_take(
    carried, run_id: int, *, connection: str, mode: str, default_account: str = ""
) -> tuple[IntentRun, EffectiveConfig] | None:
    """The carried run and its settings, when this worker may start its body without reading them:
    it verifies, it is run `run_id`, queued, before its start deadline, of this worker's `connection`,
    under this worker's `mode` and the account `run_config` would read (the run's own, or none when this
    worker names no default). Else None: read them from the database. That its intent reads only is for
    the caller to check, with the class it runs (the executor: one registry look-up per run)."""
    try:
        data = signing.loads(carried, salt=SALT)
        fields, settings = data["run"], data["config"]
        values = [fields[name] for name in _ATTNAMES]
    except (signing.BadSignature, TypeError, KeyError):
        log.warning("run #%s: its hand-off could not be read (another SECRET_KEY or console version?); reading the run", run_id)
        return None
    for at in _DATETIMES:  # the rest are JSON's own types already
        values[at] = values[at] and datetime.fromisoformat(values[at])
    run = IntentRun.from_db("default", _ATTNAMES, values)
    config = EffectiveConfig.from_dict(settings)
    takeable = (
        run.pk == run_id
        and run.status == RunStatus.QUEUED
        and run.start_deadline is not None
        and run.start_deadline > timezone.now()
        and run.connection == connection
        and config.mode == mode
        and (bool(run.account) or not default_account)  # the account run_config would read is the run's
    )
    return (run, config) if takeable else None
