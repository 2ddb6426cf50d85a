"""The one submission path: every way of running an intent (API, CLI, admin, dashboard, schedules)
calls `run_submit`, and the worker moves runs through the states below with conditional UPDATEs.

    queued ──claim (live lease token)──▶ running ──▶ succeeded | failed | partial
       │                                    └── its worker is gone ──▶ interrupted (by the next owner's sweep)
       └── not started by start_deadline ──▶ expired (never executes late)

Invariants: a run executes at most once (the claim is an UPDATE … WHERE status='queued' whose row
count decides; an intent that reads only may run its body first and claim with its outcome, in one
commit: `run_claim_finish`, which records at most one outcome and drops any other body's); only the live owner of the client id claims (the same UPDATE requires its lease
token to be current and unexpired, and stamps it on the run as `lease_token`); `interrupted` only
for a run whose worker is gone (its `lease_token` is not a live lease's); a final status is never
overwritten, nor reported as another in the activity log; the same idempotency key returns the same
run; nothing is enqueued before commit.
"""

from __future__ import annotations

import contextvars
import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists
from django.utils import timezone
from pydantic import ValidationError

from trading.activity import activity_entry, activity_record, activity_save, activity_written
from trading.config import effective_config
from trading.dbreads import ModelRead
from trading.dbwrites import insert_then_entry, update_then_insert
from trading.intents.handoff import handoff_pack
from trading.intents.registry import IntentNotFound, intent_get
from trading.models import DEFAULT_CONNECTION, ActivityEntry, ActivityKind, IBConnection, IntentRun, RunStatus, WorkerHeartbeat
from trading.models.activity import Severity
from trading.worker.lease import lease_live, lease_live_tokens

WORKER_DOWN = "the IB worker is not connected ({reason}); nothing was queued"
WORKER_DOWN_OF = "the IB worker of connection {connection} (account {account}) is not connected ({reason}); nothing was queued"
ACCOUNT_CHOOSE = "several accounts are known ({accounts}): name one with `account`"
ACCOUNT_UNKNOWN = "unknown account {account!r}: the known accounts are {accounts}"
ACCOUNT_NONE_KNOWN = (
    "unknown account {account!r}: no account is known (no enabled connection lists one and no worker has reported any)"
)
ACCOUNT_NOT_TEXT = "must be an account code (text)"
ORDER_OTHER_MODE = (
    "order #{pk} was placed in {mode} mode, but connection {connection}, which would carry the change, trades {other}: "
    "no {mode} connection reaches it"
)
ORDER_ACCOUNT_GONE = "order #{pk} is for account {account}, which no enabled connection trades now"
ORDER_CONNECTION_GONE = (
    "order #{pk} was placed through connection {connection}, which is disabled or gone: only its worker reaches it"
)
ORDER_ACCOUNT_ELSEWHERE = (
    "order #{pk} was placed through connection {connection}, but account {account} is traded through {other} now: "
    "only {connection}'s worker reaches it"
)
ORDER_CONNECTION_NO_ACCOUNT = "order #{pk} was placed through connection {connection}, which trades no known account now"
ACCOUNTS_NONE = "no account is known (no enabled connection lists one and no worker has reported any)"
KEY_REUSED = "idempotency key {key!r} was used for a different request (run #{run_id}: {intent} {params})"
EXPIRED = "not started within {seconds:.0f}s of submission (worker busy or down); it will not run late"
INTERRUPTED = "the IB worker stopped while this run was executing"
ALREADY_FINAL = "its body ended {outcome} after the run was already {status}; it stays {status}"

__all__ = ["IntentNotFound", "run_submit", "run_claim", "run_claim_finish", "run_finish", "run_expire", "run_wait", "run_await"]


class IntentParamsInvalid(ValueError):
    def __init__(self, intent: str, errors: list[dict]):
        self.intent = intent
        self.errors = errors
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
        super().__init__(f"bad parameters for {intent}: {details}")


class IdempotencyConflict(ValueError):
    pass


class WorkerUnavailable(RuntimeError):
    pass


def params_validate(intent_cls, params: dict) -> dict:
    """The params as the intent's schema accepts them (by alias), or IntentParamsInvalid."""
    try:
        parsed = intent_cls.Params.model_validate(params)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise IntentParamsInvalid(intent_cls.name, errors) from None
    errors = intent_cls.check(parsed)
    if errors:
        raise IntentParamsInvalid(intent_cls.name, errors)
    return parsed.model_dump(mode="json", by_alias=True, exclude_none=True)


def split_dry_run(params: dict, dry_run: bool | None) -> tuple[dict, bool | None]:
    """The seed sent `dryRun` in the body; it is a property of the run, not of the intent's schema."""
    params = dict(params or {})
    for alias in ("dryRun", "dry_run"):
        if alias in params:
            value = params.pop(alias)
            if not isinstance(value, bool):
                raise IntentParamsInvalid("run", [{"loc": [alias], "msg": "must be true or false", "type": "bool"}])
            dry_run = value if dry_run is None else dry_run
    return params, dry_run


def split_account(params: dict, account: str | None) -> tuple[dict, str | None]:
    """`account` is a parameter of every intent, not of its schema: taken out of the params (an explicit
    `account` argument wins), stripped; None when not given."""
    params = dict(params or {})
    if "account" in params:
        value = params.pop("account")
        if value is not None and not isinstance(value, str):
            raise IntentParamsInvalid("run", [{"loc": ["account"], "msg": ACCOUNT_NOT_TEXT, "type": "string_type"}])
        account = account if account is not None else value
    account = (account or "").strip()
    return params, account or None


# The routing read's two queries with their SQL written once (trading/dbreads.py): every IBConnection by
# name (IBConnection.objects.order_by("name")), and the heartbeats of some workers (name__in=…), one SQL
# for each number of names.
_CONNECTIONS = ModelRead(IBConnection, where="1 = 1", order_by="t.name")
_HEARTBEATS: dict[int, ModelRead] = {}


def _heartbeats_read(count: int) -> ModelRead:
    read = _HEARTBEATS.get(count)
    if read is None:
        read = _HEARTBEATS[count] = ModelRead(WorkerHeartbeat, where=f"t.name IN ({', '.join(['%s'] * count)})")
    return read


class Routing:
    """What a submission routes by, read once (two queries): every IBConnection row and the heartbeat
    of each one's worker (and of the default connection's). `run_submit` resolves the account, the
    connection's mode and whether its worker is connected from this one read, instead of reading the
    connection and the heartbeat again at each step."""

    def __init__(self) -> None:
        from trading.worker.health import worker_name

        self.connections = {row.name: row for row in _CONNECTIONS([])}
        names = sorted({worker_name(name) for name in (*self.connections, DEFAULT_CONNECTION)})
        self.heartbeats = {row.name: row for row in _heartbeats_read(len(names))(names)}

    def accounts(self) -> dict[str, str]:
        """`accounts_known`, from this read."""
        from trading.worker.health import worker_name

        known: dict[str, str] = {}
        for row in self.connections.values():
            if not row.enabled:
                continue
            beat = self.heartbeats.get(worker_name(row.name))
            listed = row.accounts or ((beat.details if beat is not None else None) or {}).get("accounts") or []
            for account in listed:
                known.setdefault(str(account), row.name)
        return known

    def mode(self, connection: str) -> str | None:
        """`_connection_mode`, from this read."""
        row = self.connections.get(connection)
        return row.mode if row is not None else None

    def worker_state(self, connection: str) -> dict:
        """`heartbeat_state` of the connection's worker, from this read."""
        from trading.worker.health import heartbeat_row_state, worker_name

        return heartbeat_row_state(self.heartbeats.get(worker_name(connection)))


def accounts_known(routing: Routing | None = None) -> dict[str, str]:
    """Every account a run may name → the connection that owns it, in connection-name order.

    A connection's accounts are those its row lists (what it may trade) or, with none listed, those its
    worker last reported in its heartbeat (what its gateway manages). Disabled connections own none;
    an account two connections claim belongs to the first (by name). `routing`: read already."""
    return (routing or Routing()).accounts()


@dataclass(frozen=True)
class OrderRoute:
    """Where a change or cancel of an order row goes: `account` for run_submit (None: let it choose, the
    order's connection being the one it would choose), the order's `connection`, and `refusal` (why
    nothing can reach the order; None when the route is open)."""

    account: str | None
    connection: str
    refusal: str | None = None


def order_route(order) -> OrderRoute:
    """The route of a change or cancel of this order row: to the worker of the connection that placed it
    (its IB order id means that order only on that gateway), refused when that connection is gone or
    disabled, no longer trades the order's account (gone, or now another connection's), or trades
    another mode (a paper order's id on a live gateway names another order, or none)."""
    connection = order.connection
    routing = Routing()  # the connections and heartbeats, read once for every check below
    row = routing.connections.get(connection)
    if (row is None and connection != DEFAULT_CONNECTION) or (row is not None and not row.enabled):
        return OrderRoute(None, connection, ORDER_CONNECTION_GONE.format(pk=order.pk, connection=connection))
    known = accounts_known(routing)
    if order.account and known and order.account not in known:
        return OrderRoute(None, connection, ORDER_ACCOUNT_GONE.format(pk=order.pk, account=order.account))
    owner = known.get(order.account) if order.account else None
    if owner is not None and owner != connection:
        moved = ORDER_ACCOUNT_ELSEWHERE.format(pk=order.pk, connection=connection, account=order.account, other=owner)
        return OrderRoute(None, connection, moved)
    mine = [account for account, its in known.items() if its == connection]
    if not mine and (known or connection != DEFAULT_CONNECTION):  # run_submit could not send it there
        return OrderRoute(None, connection, ORDER_CONNECTION_NO_ACCOUNT.format(pk=order.pk, connection=connection))
    mode = row.mode if row is not None else effective_config().mode
    if mode != order.mode:
        other_mode = ORDER_OTHER_MODE.format(pk=order.pk, mode=order.mode, connection=connection, other=mode)
        return OrderRoute(None, connection, other_mode)
    # Several accounts known: name one of the connection's (the order's own when known), so run_submit
    # sends the run to this connection; one or none: run_submit's default is this connection already.
    account = (order.account if owner else mine[0]) if len(known) > 1 else None
    return OrderRoute(account, connection)


def run_account_resolve(
    intent: str, account: str | None, *, required: bool = True, routing: Routing | None = None
) -> tuple[str, str]:
    """(account, connection) of a new run. None given: the only known account; none known: "" on the
    default connection (exactly as before accounts were routed); several: refused, listing them (unless
    not `required`: an intent that does not reach IB runs on the default connection). A named account
    must be known. Refusals are IntentParamsInvalid on `account` (a 422, exit 2)."""
    known = accounts_known(routing)
    listed = ", ".join(known) or "none"
    if account is None:
        if not known:
            return "", DEFAULT_CONNECTION
        if len(known) == 1:
            [(only, connection)] = known.items()
            return only, connection
        if not required:
            return "", DEFAULT_CONNECTION
        raise IntentParamsInvalid(
            intent, [{"loc": ["account"], "msg": ACCOUNT_CHOOSE.format(accounts=listed), "type": "account"}]
        )
    if account not in known:
        message = (ACCOUNT_UNKNOWN if known else ACCOUNT_NONE_KNOWN).format(account=account, accounts=listed)
        raise IntentParamsInvalid(intent, [{"loc": ["account"], "msg": message, "type": "account"}])
    return account, known[account]


def run_submit(
    *,
    intent: str,
    params: dict | None = None,
    dry_run: bool | None = None,
    source: str,
    requested_by=None,
    idempotency_key: str | None = None,
    check_worker: bool = True,
    account: str | None = None,
    reply_to: str | None = None,
    reply_within: float = 0.0,
    task_later=None,
) -> tuple[IntentRun, bool]:
    """Validate, record and enqueue a run; returns (run, created). A repeated key returns the first run.

    `account` (or `account` in the params): the IB account it trades; the run goes to the worker of
    the connection that owns it (run_account_resolve). `reply_to` (a channel: live.reply_channel_new):
    the hand-off asks the worker to answer there once the run is done, for `reply_within` seconds
    (`run_await`'s `reply_to`): a waiting caller needs no `run.wait` request of its own. `task_later`
    (console.handler.after_response, from a web request): how to put off the q2 task (`run_enqueue`)."""
    intent_cls = intent_get(intent)
    params, dry_run = split_dry_run(params or {}, dry_run)
    params, account = split_account(params, account)
    clean = params_validate(intent_cls, params)
    if idempotency_key:
        existing = IntentRun.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            dry_run = effective_config(existing.mode or None).dry_run_default if dry_run is None else dry_run
            return _same_request(existing, intent, clean, dry_run, account), False
    routing = Routing()  # the connections and their workers' heartbeats, read once for the steps below
    account, connection = run_account_resolve(intent, account, required=intent_cls.requires_ib, routing=routing)
    # The run trades under its connection's mode (a paper and a live connection side by side), and its
    # account's rows; the console's active mode only chooses what the dashboard shows by default.
    config = effective_config(routing.mode(connection), account=account or None)
    if dry_run is None:
        dry_run = config.dry_run_default
    if check_worker and intent_cls.requires_ib:
        _require_worker(connection, account, routing=routing)
    now = timezone.now()
    run = IntentRun(
        task_id=q2_task_id(),  # chosen now, so the row is written once (run_enqueue)
        intent=intent,
        params=clean,
        dry_run=dry_run,
        mode=config.mode,
        source=source,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        idempotency_key=idempotency_key or None,
        start_deadline=now + timedelta(seconds=intent_cls.start_within),
        account=account,
        connection=connection,
    )
    entry = activity_entry(
        kind=ActivityKind.INTENT_RUN,
        message="",  # "run #<its id> …": put together as the row is written
        mode=config.mode,
        run=run,
        actor=run.requested_by,
        payload={"params": clean, "source": source, **({"account": account} if account else {})},
        logged=False,
    )
    queued = f" {intent}{' (dry run)' if dry_run else ''}{f' for {account}' if account else ''} queued from {source}"
    try:
        # The run and its "queued" entry: one commit (on PostgreSQL one statement).
        insert_then_entry(run, entry, link="run", message=("run #", queued))
    except IntegrityError:
        # Two requests with the same key raced; the other one won, and its run is the answer.
        existing = IntentRun.objects.get(idempotency_key=idempotency_key)
        return _same_request(existing, intent, clean, dry_run, account), False
    activity_written(entry)
    reply = {"reply_to": reply_to, "deadline": time.time() + reply_within} if reply_to else {}
    transaction.on_commit(lambda: run_enqueue(run, intent_cls, reply=reply, task_later=task_later, config=config))
    return run, True


def _connection_mode(connection: str) -> str | None:
    """The mode of the connection a run goes to; None (the active mode) when it has no row."""
    from trading.models import IBConnection

    return IBConnection.objects.filter(name=connection).values_list("mode", flat=True).first()


def _same_request(existing: IntentRun, intent: str, params: dict, dry_run: bool, account: str | None = None) -> IntentRun:
    """The first run of this key, unless this request differs (an account named now must be its account)."""
    differs = existing.intent != intent or existing.params != params or existing.dry_run != dry_run
    if differs or (account is not None and existing.account != account):
        raise IdempotencyConflict(
            KEY_REUSED.format(
                key=existing.idempotency_key, run_id=existing.pk, intent=existing.intent, params=json.dumps(existing.params)
            )
        )
    return existing


def _require_worker(connection: str = DEFAULT_CONNECTION, account: str = "", *, routing: Routing | None = None) -> None:
    """The worker of the run's connection is connected (its heartbeat is fresh and says so), or nothing is queued."""
    state = (routing or Routing()).worker_state(connection)
    if not state["connected"]:
        reason = state["reason"] or "the worker is up but not connected to the gateway"
        if connection == DEFAULT_CONNECTION:
            raise WorkerUnavailable(WORKER_DOWN.format(reason=reason))
        raise WorkerUnavailable(WORKER_DOWN_OF.format(connection=connection, account=account or "?", reason=reason))


def accounts_ready(intent: str) -> list[str]:
    """Every known account, each checked as run_submit would (its worker connected when the intent needs
    IB): for `--all-accounts`, which submits one run per account only when none would be refused."""
    intent_cls = intent_get(intent)
    routing = Routing()
    known = accounts_known(routing)
    if not known:
        raise IntentParamsInvalid(intent, [{"loc": ["account"], "msg": ACCOUNTS_NONE, "type": "account"}])
    if intent_cls.requires_ib:
        for account, connection in known.items():
            _require_worker(connection, account, routing=routing)
    return list(known)


def run_enqueue(run: IntentRun, intent_cls, *, reply: dict | None = None, task_later=None, config=None) -> None:
    """Hand the run to the worker (after commit): directly over its channel, and as a django-q2 task.
    `reply` (`reply_to` and `deadline`): the worker answers there once the run is done, as it answers a
    `run.wait` request. `task_later` (a web request's `after_response`): once the direct hand-off went
    out, the q2 task is enqueued after the request's response is sent, not while the worker runs the
    body: the cluster picking the task up (its pusher, a q2 worker process, pickling, signing) competes
    for the same cores, and a `summary` waited on answered ~1 ms later for it (bench/compare_summary.py).
    A web process that dies in between leaves the run without its task: the worker still executes it
    (the hand-off, or its sweep), and the row holds the outcome. `config` (the settings the submission
    read for the run): a `reads_only` run's hand-off carries the run and them, signed, so the worker
    starts its body without reading them back (trading/intents/handoff.py).

    The direct hand-off is the fast path: the connected worker claims the run a few milliseconds after
    the commit instead of after the q2 cluster has picked the task from its broker. The q2 task stays
    the durable path: it mirrors the run's outcome (retries, schedules, the task record) and hands the
    run over again if the worker missed the first message. The claim is at-most-once (run_claim), so
    two hand-offs of one run execute it once; the start deadline holds for both. The task is told
    whether the direct hand-off went out (`handed`): then it keeps off the database while the worker
    claims and runs the run (tasks.intent_task).

    The task names the run by id *and* creation time, so a task left in the broker from another
    database (a restored backup, a flushed test database reusing ids) never waits on the wrong run.
    Its q2 id is the one the run row was inserted with (`q2_task_id`, given to q2 through its
    `pre_enqueue` signal), so the row is not written again for it while the worker claims the run.

    The run is committed before this runs, so a broker that is down must not turn into an error for
    the caller (a 500 for a run that then executes: a retry without a key would make a second run).
    The worker's sweep claims queued runs from the database by itself; the failed hand-off is logged
    and recorded (and the task id no task carries is cleared), and the run is answered as queued.
    """
    import logging

    from trading.live import worker_command_send

    handed = True
    command = {"type": "run.execute", "run_id": run.pk, **(reply or {})}
    if config is not None and intent_cls.reads_only:
        command["run"] = handoff_pack(run, config)
    try:
        worker_command_send(command, connection=run.connection)
    except Exception as exc:  # Redis down: the q2 task (or the sweep) hands it over instead
        handed = False
        logging.getLogger("trading.intents").warning("run #%s not handed to the worker directly: %s", run.pk, exc)
    if handed and task_later is not None:
        task_later(lambda: _task_enqueue(run, intent_cls, handed))
    else:
        _task_enqueue(run, intent_cls, handed)


def _task_enqueue(run: IntentRun, intent_cls, handed: bool) -> None:
    """The run's django-q2 task (run_enqueue); a broker that refuses it leaves the run to the sweep."""
    import logging

    from django_q.tasks import async_task

    task_timeout = int(intent_cls.start_within + intent_cls.timeout + 30)
    _q2_hook()
    chosen = _TASK_ID.set(run.task_id or None)
    try:
        async_task(
            "trading.intents.tasks.intent_task",
            run.pk,
            run.created_at.isoformat(),
            handed,
            task_name=f"intent-run-{run.pk}",
            q_options={"timeout": task_timeout, "broker": q2_broker()},
        )
    except Exception as exc:  # the broker (Redis) is down or refused the task
        reason = f"{type(exc).__name__}: {exc}"[:200]
        logging.getLogger("trading.intents").warning("run #%s not handed to the task queue: %s", run.pk, reason)
        with transaction.atomic():
            IntentRun.objects.filter(pk=run.pk).update(task_id="")
            run.task_id = ""
            activity_record(
                kind=ActivityKind.INTENT_RUN,
                severity=Severity.WARNING,
                message=f"run #{run.pk} {run.intent}: the task queue is unreachable ({reason}); " + (
                    "it went to the worker directly (no q2 task records it), and the worker's sweep picks it up "
                    "from the database if that hand-off was lost"
                    if handed
                    else "it stays queued and the worker's sweep picks it up from the database"
                ),
                mode=run.mode,
                run=run,
                payload={"enqueue_error": reason},
            )
    finally:
        _TASK_ID.reset(chosen)


_TASK_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("q2_task_id", default=None)
_Q2_HOOKED = False


def q2_task_id() -> str:
    """A new django-q2 task id (django-q2's own generator), chosen before the run row is inserted."""
    from django_q.humanhash import uuid

    return uuid()[1]


def _q2_hook() -> None:
    """Connect `_q2_task_id_give` to django-q2's `pre_enqueue` once per process."""
    global _Q2_HOOKED
    if not _Q2_HOOKED:
        from django_q.signals import pre_enqueue

        pre_enqueue.connect(_q2_task_id_give, dispatch_uid="trading.intents.runs.q2_task_id")
        _Q2_HOOKED = True


def _q2_task_id_give(sender, task: dict, **kwargs) -> None:
    """`async_task` draws an id of its own; the task `run_enqueue` is enqueuing takes the run row's."""
    task_id = _TASK_ID.get()
    if task_id:
        task["id"] = task_id


_BROKERS: dict[tuple, object] = {}


def q2_broker():
    """django-q2's broker, kept per Redis and queue (q2 builds one, with a new Redis connection, per task)."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    key = (str(Conf.REDIS), Conf.PREFIX, os.getpid())
    broker = _BROKERS.get(key)
    if broker is None:
        broker = _BROKERS[key] = get_broker()
    return broker


def run_claim(
    run_id: int, *, client_id: int, token: int, connection: str = DEFAULT_CONNECTION, run: IntentRun | None = None
) -> bool:
    """Atomically move a queued, unexpired run of this worker's connection to running, for the worker
    whose lease `token` is live; True for exactly one caller, ever. The run carries the token: the
    orphan sweep spares it. A run of another connection (another account's gateway) is never claimed.
    `run`: the caller's copy of the row, updated in place when claimed."""
    now = timezone.now()
    claimable = IntentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED, start_deadline__gt=now, connection=connection)
    claimed = claimable.filter(Exists(lease_live(client_id=client_id, token=token, connection=connection))).update(
        status=RunStatus.RUNNING, started_at=now, lease_token=token
    )
    if not claimed:
        run_expire(run_id)
    elif run is not None:
        run.status, run.started_at, run.lease_token = RunStatus.RUNNING, now, token
    return bool(claimed)


def run_expire(run_id: int) -> bool:
    """A queued run past its start deadline becomes expired (and so can never be claimed)."""
    run = IntentRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.QUEUED or run.start_deadline > timezone.now():
        return False
    seconds = (run.start_deadline - run.created_at).total_seconds()
    updated = IntentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.EXPIRED, finished_at=timezone.now(), error=EXPIRED.format(seconds=seconds)
    )
    if updated:
        activity_record(
            kind=ActivityKind.INTENT_RUN,
            severity=Severity.WARNING,
            message=f"run #{run_id} {run.intent} expired: " + EXPIRED.format(seconds=seconds),
            mode=run.mode,
            run=run,
        )
    return bool(updated)


def run_finish(
    run_id: int, *, status: str, result: dict | None = None, error: str = "", run: IntentRun | None = None
) -> IntentRun:
    """Record a running run's outcome. A run already final (interrupted by a sweep, say) keeps its
    status, and the log says the body ended late — never "succeeded" for a run that is not. The
    outcome and its log entry are one commit: a waiter hears of it one commit sooner. `run`: the
    caller's copy of the row, updated in place when the outcome is recorded (no read back)."""
    with transaction.atomic():
        now = timezone.now()
        finished = IntentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=status, result=result, error=error[:10000], finished_at=now
        )
        if finished and run is not None:
            run.status, run.result, run.error, run.finished_at = status, result, error[:10000], now
        else:
            run = IntentRun.objects.get(pk=run_id)
        _outcome_record(run, status=status, error=error, finished=bool(finished))
        return run


def run_claim_finish(
    run: IntentRun, *, started_at, client_id: int, token: int, connection: str, status: str, result: dict | None, error: str = ""
) -> IntentRun | None:
    """`run_claim` and `run_finish` in one commit, for a run of an intent that reads only (`reads_only`)
    whose body ran from `started_at` before it was claimed. The claim's conditions are run_claim's, as of
    `started_at`: still queued, started before its deadline, this worker's connection, and its live lease.
    None when they do not hold (another worker recorded it, it expired, the lease is gone): nothing is
    written for this body, whose outcome is dropped; a run past its deadline becomes expired."""
    now = timezone.now()
    claimable = IntentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED, start_deadline__gt=started_at, connection=connection)
    claimable = claimable.filter(Exists(lease_live(client_id=client_id, token=token, connection=connection)))
    outcome = {
        "status": status, "started_at": started_at, "finished_at": now, "lease_token": token, "result": result, "error": error[:10000],
    }  # fmt: skip
    entry = _outcome_entry(run, status=status, error=error, finished=True, logged=False)
    # The claim with its outcome and the outcome's activity entry: one commit (on PostgreSQL one statement).
    if update_then_insert(claimable, outcome, entry):
        for name, value in outcome.items():
            setattr(run, name, value)
        activity_written(entry)
        return run
    run_expire(run.pk)
    return None


def _outcome_record(run: IntentRun, *, status: str, error: str, finished: bool) -> None:
    """The activity entry of a body's outcome, written now (`_outcome_entry`)."""
    activity_save(_outcome_entry(run, status=status, error=error, finished=finished))


def _outcome_entry(run: IntentRun, *, status: str, error: str, finished: bool, logged: bool = True) -> ActivityEntry:
    """The activity entry of a body's outcome: the outcome when it was recorded (`finished`), else that
    the run was already final."""
    outcome = "succeeded" if status == RunStatus.SUCCEEDED else f"{status}: {error.splitlines()[0] if error else ''}"
    name = f"run #{run.pk} {run.intent}{' (dry run)' if run.dry_run else ''}"
    if finished:
        severity = Severity.INFO if status == RunStatus.SUCCEEDED else Severity.WARNING
        message, payload = f"{name} {outcome}", {"status": status}
    else:
        severity = Severity.WARNING
        message = f"{name}: " + ALREADY_FINAL.format(outcome=f"({outcome.rstrip(': ')})", status=run.status)
        payload = {"status": run.status, "body_status": status, "body_error": error[:2000]}
    return activity_entry(
        kind=ActivityKind.INTENT_RUN, severity=severity, message=message, mode=run.mode, run=run, payload=payload, logged=logged
    )


def run_interrupt_orphans(*, token: int, note: str = INTERRUPTED, connection: str = DEFAULT_CONNECTION) -> list[IntentRun]:
    """Runs left `running` by a worker that is gone become `interrupted`, listing the orders they placed.

    Only the runs of the sweeping worker's connection are looked at (another connection's worker runs
    its own, under its own lease, whose token number may be the same); gone means: its lease token is
    neither `token` (the sweeping worker's own) nor any live lease's of that connection."""
    spared = {token, *lease_live_tokens(connection=connection)}
    orphans = list(IntentRun.objects.filter(status=RunStatus.RUNNING, connection=connection).exclude(lease_token__in=spared))
    interrupted = []
    for run in orphans:
        orders = [
            {"order_id": o.order_id, "perm_id": o.perm_id, "symbol": o.symbol, "status": o.status, "order_ref": o.order_ref}
            for o in run.orders.all()
        ]
        swept = IntentRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING, lease_token=run.lease_token).update(
            status=RunStatus.INTERRUPTED, finished_at=timezone.now(), error=note, result={"orders": orders}
        )
        if not swept:  # finished meanwhile
            continue
        run.status, run.error, run.result = RunStatus.INTERRUPTED, note, {"orders": orders}
        interrupted.append(run)
        activity_record(
            kind=ActivityKind.INTENT_RUN,
            severity=Severity.WARNING,
            message=f"run #{run.pk} {run.intent} interrupted: {note}; {len(orders)} order(s) found by orderRef",
            mode=run.mode,
            run=run,
            payload={"orders": orders},
        )
    return interrupted


QUICK_POLL = 0.003  # seconds between a waiting caller's first reads of the run
QUICK_POLLS = 0.5  # for this long


def run_wait(run_id: int, *, timeout: float, poll: float = 0.1) -> IntentRun:
    """Poll until the run is final or `timeout` passes; expires it at its start deadline if still queued.

    A read of one row by its key costs well under a millisecond, so the first QUICK_POLLS seconds are
    polled every QUICK_POLL (a summary is done in tens of milliseconds, and a coarser step would add
    its own wait to every answer); then the pause grows to `poll`."""
    started = time.monotonic()
    deadline = started + timeout
    pause = min(QUICK_POLL, poll)
    while True:
        run = IntentRun.objects.get(pk=run_id)
        if run.status in RunStatus.final_values():
            return run
        if run.status == RunStatus.QUEUED and run.start_deadline <= timezone.now():
            run_expire(run_id)
            continue
        now = time.monotonic()
        if now >= deadline:
            return run
        time.sleep(min(pause, deadline - now))
        if now - started > QUICK_POLLS:
            pause = min(pause * 1.5, poll)


RUN_WAIT = "run.wait"  # a waiter asks the worker (trading.live.worker_request) to say when a run is done
OUTCOME_FIELDS = ("status", "result", "error", "started_at", "finished_at", "lease_token")  # what finishing a run writes
OUTCOME_MAX_CHARS = 256_000  # a larger result is read back by the waiter instead of crossing Redis in the answer
WAIT_SLICE = 0.5  # seconds a waiter listens for the worker's word before it reads the run itself


def run_outcome_dump(run: IntentRun) -> dict | None:
    """A final run's outcome as the worker's answer carries it (JSON types: channel layers pack no
    datetimes), read back by `run_outcome_apply`; None for a run not final, one whose result does not
    survive JSON (it could not have been stored either), or one too large to send (OUTCOME_MAX_CHARS)."""
    if run.status not in RunStatus.final_values():
        return None
    try:
        text = json.dumps(run.result)
    except (TypeError, ValueError):
        return None
    if len(text) > OUTCOME_MAX_CHARS:
        return None
    result = json.loads(text)  # as a read of the JSON column gives it back
    outcome = {name: getattr(run, name) for name in OUTCOME_FIELDS}
    outcome["result"] = result
    for name in ("started_at", "finished_at"):
        outcome[name] = outcome[name].isoformat() if outcome[name] else None
    return outcome


def run_outcome_apply(run: IntentRun, outcome: dict) -> IntentRun:
    """`run` (the submitter's copy of the row it inserted) with the recorded outcome `outcome`."""
    from datetime import datetime

    for name in OUTCOME_FIELDS:
        value = outcome.get(name)
        if name in ("started_at", "finished_at") and value:
            value = datetime.fromisoformat(value)
        setattr(run, name, value)
    return run


def run_await(
    run_id: int,
    *,
    timeout: float,
    poll: float = 0.1,
    connection: str = DEFAULT_CONNECTION,
    reply_to: str | None = None,
    submitted: IntentRun | None = None,
) -> IntentRun:
    """`run_wait`, woken by the worker instead of polling: for callers in sync code (the API, q2 tasks).

    Asks the worker of the run's `connection` over its channel (`worker_request`, command `run.wait`) to
    answer once the run is done; the worker answers after the run's outcome is committed, or at once when it is not executing
    the run. Either answer only says "read it now": the run is read from the database, which stays the
    truth. No answer within WAIT_SLICE (the worker is down, Redis lost the message) costs one read, then
    the waiter asks again, so a lost answer delays the result by at most WAIT_SLICE and never loses it.
    An answer for a run that is not final (the worker does not have it: not connected yet, another
    worker claimed it), or a request that fails at once (Redis down), turns the rest of the wait into
    `run_wait`'s polling. Expiry at the start deadline holds as in `run_wait` (every read goes through it).

    `reply_to`: the run's hand-off already asked the worker to answer on this channel (run_submit's
    `reply_to`): the first slice listens there instead of asking. `submitted`: the caller's copy of the
    run as inserted; the worker that recorded the outcome sends it with its answer, after the commit
    (`run_outcome_dump`), and it is applied to this copy instead of reading the row back."""
    from asgiref.sync import async_to_sync

    from trading.live import worker_reply_receive, worker_request

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return run_wait(run_id, timeout=0)
        listen = min(WAIT_SLICE, remaining)
        asked = time.monotonic()
        try:
            if reply_to:
                answer, reply_to = worker_reply_receive(reply_to, timeout=listen), None
            else:
                command = {"type": RUN_WAIT, "run_id": run_id}
                answer = async_to_sync(worker_request)(command, timeout=listen, connection=connection)
        except RuntimeError:  # another event loop of this process receives on the channel layer: poll
            answer = None
        failed = answer is None and time.monotonic() - asked < listen * 0.9  # refused, not timed out
        outcome = answer.get("outcome") if isinstance(answer, dict) and answer.get("run_id") == run_id else None
        if submitted is not None and submitted.pk == run_id and isinstance(outcome, dict):
            return run_outcome_apply(submitted, outcome)
        run = run_wait(run_id, timeout=0)
        if run.status in RunStatus.final_values():
            return run
        if answer is not None or failed:
            return run_wait(run_id, timeout=max(0.0, deadline - time.monotonic()), poll=poll)
