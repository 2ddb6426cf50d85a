"""Writing to the append-only activity log. Every other module records through `activity_record` (or,
to insert many at once, builds entries with `activity_entry` and bulk-creates them: the recorder)."""

from __future__ import annotations

import logging

from trading.models import ActivityEntry
from trading.models.activity import Severity

log = logging.getLogger("trading.activity")


def activity_record(**fields) -> ActivityEntry:
    """Write one entry now; the fields are `activity_entry`'s."""
    entry = activity_entry(**fields)
    entry.save()
    return entry


def activity_entry(
    *,
    kind: str,
    message: str,
    severity: str = Severity.INFO,
    mode: str = "",
    strategy: str = "",
    run=None,
    run_id: int | None = None,
    actor=None,
    payload: dict | None = None,
) -> ActivityEntry:
    """An entry not yet saved (logged now): for `activity_record`, or for a bulk insert."""
    entry = ActivityEntry(
        kind=kind,
        severity=severity,
        mode=mode,
        strategy=strategy,
        run_id=run.pk if run is not None else run_id,
        actor=actor,
        message=message[:500],
        payload=payload or {},
    )
    log.log(logging.WARNING if severity != Severity.INFO else logging.INFO, "[%s] %s", kind, message)
    return entry
