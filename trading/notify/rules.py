"""Which activity entries are worth a message: the one table from an entry to a notification kind.

What each event writes to the activity log (found in the code that writes it):

    fill            FILL entry, payload {fill, exec_id, order}                   trading/worker/store.py fill_record
    order rejected  ORDER_REFUSED entry (refused by a gate, not sent, modify      trading/intents/order_records.py
                    refused); ORDER entry whose payload status is Inactive       trading/worker/store.py order_upsert
                    (IB rejected it)
    run failed      INTENT_RUN entry with payload {status: failed|partial}       trading/intents/runs.py run_finish
                    (an ALREADY_FINAL note carries body_status: skipped); an
                    interrupted/expired run's warning (its run row says which)
    kill switch     RISK entry whose payload says trading was on (risk_check     trading/intents/builtin/risk_check.py
                    tripped it); CONFIG_CHANGE turning trading_enabled off from   trading/config.py config_change_record
                    any other source (a person: admin, API, dashboard, CLI)
    external pos.   EXTERNAL_POSITION_CHANGE entry                               trading/worker/positions.py
    disconnected    CONNECTION entries with payload {state}: not a message each; trading/notify/watch.py times them
"""

from __future__ import annotations

from collections.abc import Callable

from trading.models import ActivityEntry, ActivityKind, NotifyKind, RunStatus

RISK_SOURCE = "risk_check"  # trading/intents/builtin/risk_check.py SOURCE
RUN_NOT_DONE = {RunStatus.FAILED, RunStatus.PARTIAL, RunStatus.INTERRUPTED, RunStatus.EXPIRED}


def _always(entry: ActivityEntry) -> bool:
    return True


def _ib_rejected(entry: ActivityEntry) -> bool:
    return entry.payload.get("status") == "Inactive"


def _run_not_done(entry: ActivityEntry) -> bool:
    payload = entry.payload or {}
    if "body_status" in payload or "enqueue_error" in payload:
        return False
    if "status" in payload:
        return payload["status"] in RUN_NOT_DONE
    # interrupted (payload {orders}) and expired (no payload) runs: only their warning, and only if the run says so
    return entry.severity != "info" and entry.run is not None and entry.run.status in {RunStatus.INTERRUPTED, RunStatus.EXPIRED}


def _risk_tripped(entry: ActivityEntry) -> bool:
    return bool(entry.payload.get("breaches")) and entry.payload.get("trading_enabled_before") is True


def _kill_switch_by_person(entry: ActivityEntry) -> bool:
    change = (entry.payload.get("changes") or {}).get("trading_enabled")
    return bool(change) and change.get("to") is False and entry.payload.get("source") != RISK_SOURCE


# activity kind, which of its entries, notification kind
ENTRY_KINDS: tuple[tuple[str, Callable[[ActivityEntry], bool], str], ...] = (
    (ActivityKind.FILL, _always, NotifyKind.FILL),
    (ActivityKind.ORDER_REFUSED, _always, NotifyKind.ORDER_REJECTED),
    (ActivityKind.ORDER, _ib_rejected, NotifyKind.ORDER_REJECTED),
    (ActivityKind.INTENT_RUN, _run_not_done, NotifyKind.RUN_FAILED),
    (ActivityKind.RISK, _risk_tripped, NotifyKind.KILL_SWITCH),
    (ActivityKind.CONFIG_CHANGE, _kill_switch_by_person, NotifyKind.KILL_SWITCH),
    (ActivityKind.EXTERNAL_POSITION_CHANGE, _always, NotifyKind.EXTERNAL_POSITION),
)
WATCHED_KINDS = frozenset({ActivityKind.CONNECTION, *(kind for kind, _, _ in ENTRY_KINDS)})


def entry_may_notify(entry: ActivityEntry) -> bool:
    """Whether the notifier should look soon: a connection change (watch.py times those), or an entry
    that is worth a message. A run queued or succeeded is neither (two per run: no tick for them)."""
    if entry.kind not in WATCHED_KINDS:
        return False
    return entry.kind == ActivityKind.CONNECTION or entry_kind(entry) is not None


def entry_kind(entry: ActivityEntry) -> str | None:
    """The notification kind of `entry`, or None when it is not worth a message."""
    for activity_kind, when, notify_kind in ENTRY_KINDS:
        if entry.kind == activity_kind and when(entry):
            return notify_kind
    return None
