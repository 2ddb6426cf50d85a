"""Intent execution inside the IB worker: claim a queued run, run its body on the loop, record the outcome.

Runs arrive as commands on the worker's channel (from the q2 task) and by a sweep of queued runs, so a hand-off
lost during a restart is still picked up before the run's start deadline. Order-placing intents run
one at a time; read-only ones run alongside. A run is claimed only with the worker's live lease token
(trading/worker/lease.py), which it then carries. At the worker's first connect, before it accepts
any run, runs whose worker is gone (their token is not a live one) become `interrupted`, with the
orders found again through their orderRef. A run finalised elsewhere while its body runs (by a
newer owner's sweep, by an operator) has its body cancelled: it must not keep placing orders.

An intent that reads only (`reads_only`: `summary`) runs its body first and is claimed with its outcome
in one commit (`run_claim_finish`): one commit less between a request and its answer. Its body changes
nothing (it gets no order gateway), so a body whose claim then fails is simply dropped.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from functools import partial

from django.utils import timezone

from trading.config import effective_config
from trading.intents.context import IntentContext, IntentError, IntentPartial
from trading.intents.handoff import handoff_take
from trading.intents.orders import OrderGateway
from trading.intents.registry import intent_get
from trading.intents.runs import RUN_WAIT, run_claim, run_claim_finish, run_finish, run_interrupt_orphans, run_outcome_dump
from trading.live import live_event, worker_reply, worker_request_expired
from trading.models import IntentRun, RunStatus

log = logging.getLogger("trading.intents.executor")

SWEEP_INTERVAL = 2.0
TIMED_OUT = "timed out after {seconds:.0f}s"
READS_ONLY = "intent {intent} reads only (reads_only): it cannot place, change or cancel orders"


class IntentExecutor:
    """A worker extension (see IBWorker.extensions)."""

    def __init__(self, *, sweep_interval: float = SWEEP_INTERVAL):
        self.sweep_interval = sweep_interval
        self.worker = None
        self.in_progress: dict[int, str] = {}
        self.order_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task] = set()
        self._claimed: dict[int, asyncio.Task] = {}  # runs this worker claimed and is executing
        self._finalised_elsewhere: set[int] = set()
        self._waiters: dict[int, list[dict]] = {}  # run id → `run.wait` requests to answer when it is done
        self._loops: list[asyncio.Task] = []
        self._orphans_done = False

    def runs_in_progress(self) -> list[dict]:
        return [{"run_id": run_id, "intent": name} for run_id, name in self.in_progress.items()]

    async def on_connected(self, worker) -> None:
        self.worker = worker
        if not self._orphans_done:
            self._orphans_done = True
            await worker.recorder.written_through()  # the reconcile has linked their orders through orderRef
            for run in await worker.db(run_interrupt_orphans, token=worker.lease.token, connection=worker.lease.connection):
                self._publish(run)
        if not self._loops:
            self._loops = [asyncio.create_task(self._sweep(), name="intent-sweep")]

    async def on_stop(self, worker) -> None:
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        if worker.lease.lost:  # another worker owns the client id now: nothing of ours may go on
            for task in self._tasks:
                task.cancel()
        # Let running intents finish briefly; what remains is marked interrupted at the next start.
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)

    async def on_command(self, message: dict) -> None:
        """Commands from the worker's channel: `run.execute` (the submission's and the q2 task's
        hand-off; with a `reply_to` when its submitter waits for the outcome), `run.wait` (a waiter's request to hear when a run is done: `runs.run_await`)."""
        if message.get("type") == "run.execute":
            self.submit(int(message["run_id"]), carried=message.get("run"))
            if "reply_to" in message:  # the submitter waits: answer it as a `run.wait` request
                await self._wait_register(message)
        elif message.get("type") == RUN_WAIT:
            await self._wait_register(message)

    async def _wait_register(self, message: dict) -> None:
        """Answer when the run is done; at once when this worker is not executing it (finished
        already, or never handed over): the waiter then reads the run, or polls for it."""
        if not isinstance(message.get("reply_to"), str) or worker_request_expired(message):
            return
        run_id = int(message["run_id"])
        if run_id in self.in_progress:
            waiting = self._waiters.setdefault(run_id, [])
            waiting[:] = [m for m in waiting if not worker_request_expired(m)]  # waiters that asked again
            waiting.append(message)
            return
        await self._wait_answer(message, run_id)

    async def _wait_answer(self, message: dict, run_id: int, outcome: dict | None = None) -> None:
        """`outcome` (run_outcome_dump): the outcome this worker has just committed, so the waiter need
        not read the row back."""
        if worker_request_expired(message):
            return
        answer = {"run_id": run_id, "executing": run_id in self.in_progress}
        if outcome is not None:
            answer["outcome"] = outcome
        try:
            await worker_reply(message, answer)
        except Exception as exc:  # the waiter reads the run itself at the end of its slice
            log.warning("run #%s: the waiter was not told: %s: %s", run_id, type(exc).__name__, exc)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            if self.worker is None or not self.worker.synced:
                continue
            try:
                queued = await self.worker.db(queued_runs, connection=self.worker.lease.connection)
            except Exception as exc:
                log.warning("run sweep failed: %s", exc)
                continue
            for run_id in queued:
                self.submit(run_id)
            await self._cancel_finalised_elsewhere()

    async def _cancel_finalised_elsewhere(self) -> None:
        """A run of ours that is no longer `running` was finalised by someone else: stop its body."""
        if not self._claimed:
            return
        ids = list(self._claimed)
        try:
            gone = await self.worker.db(
                lambda: list(IntentRun.objects.filter(pk__in=ids).exclude(status=RunStatus.RUNNING).values_list("pk", flat=True))
            )
        except Exception as exc:
            log.warning("run check failed: %s", exc)
            return
        for run_id in gone:
            task = self._claimed.get(run_id)
            if task is not None and not task.done():
                log.warning("run #%s was finalised elsewhere while its body ran: cancelling the body", run_id)
                self._finalised_elsewhere.add(run_id)
                task.cancel()

    def submit(self, run_id: int, carried: str | None = None) -> None:
        """Execute run `run_id` unless it is being executed already. `carried`: the run and its settings as
        its submission's hand-off carries them (a reads_only run: trading/intents/handoff.py)."""
        if run_id in self.in_progress or self.worker is None or not self.worker.synced:
            return  # not connected: stays queued; the sweep retries until its start deadline
        self.in_progress[run_id] = "?"
        task = asyncio.create_task(self._execute(run_id, carried), name=f"intent-run-{run_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, run_id: int, carried: str | None = None) -> None:
        finished = None  # the run as this worker recorded its outcome: its waiters are sent it
        try:
            lease, mode, default_account = self.worker.lease, self.worker.mode, self.worker.options.account
            fetch = partial(self.worker.db_guarded, _fetch_and_claim, run_id, lease, mode=mode, default_account=default_account)
            # A reads_only run as submitted: its claim with the outcome decides, as for a fetched one.
            taken = carried and handoff_take(carried, run_id, connection=lease.connection, mode=mode, default_account=default_account)
            run, config = taken or await fetch()  # the fetch's claim is conditioned on the live lease
            intent_cls = intent_get(run.intent)
            if taken and not intent_cls.reads_only:  # not one that reads only to this worker: as any other run
                run, config = await fetch()
                intent_cls = intent_get(run.intent)
            self.in_progress[run_id] = run.intent
            if intent_cls.places_orders:
                async with self.order_lock:
                    finished = await self._claim_and_run(run, intent_cls)
            elif config is None:  # not claimed (not claimable, for a reads_only one): nothing to run
                pass
            elif intent_cls.reads_only:
                finished = await self._run_then_claim(run, intent_cls, config)
            else:  # claimed with the fetch
                finished = await self._run_claimed(run, intent_cls, config)
        except Exception:
            log.exception("run #%s could not be executed", run_id)
        finally:
            self.in_progress.pop(run_id, None)
            # After the outcome's commit (run_finish above), or a claim that did not happen.
            waiters = self._waiters.pop(run_id, [])
            # Packed only for a waiter: a run nobody waits on costs the worker's loop no JSON round trip.
            outcome = run_outcome_dump(finished) if finished is not None and waiters else None
            for message in waiters:
                await self._wait_answer(message, run_id, outcome)

    async def _claim_and_run(self, run: IntentRun, intent_cls) -> IntentRun | None:
        lease = self.worker.lease
        claimed = await self.worker.db(
            run_claim, run.pk, client_id=lease.client_id, token=lease.token, connection=lease.connection, run=run
        )
        if not claimed:
            return None  # someone else has it, it expired, or this worker no longer owns the client id: at most once
        return await self._run_claimed(run, intent_cls)

    async def _run_claimed(self, run: IntentRun, intent_cls, config=None) -> IntentRun:
        """The claimed run's body, then its outcome recorded; returns the run as recorded."""
        run.status = RunStatus.RUNNING
        self._claimed[run.pk] = asyncio.current_task()
        self._publish(run)
        try:
            status, result, error = await self.run_body(run, intent_cls, config)
        except asyncio.CancelledError:
            if run.pk not in self._finalised_elsewhere:
                raise  # the worker lost its lease or is going away: the next owner's sweep reports the run
            # run_finish keeps the status it was given elsewhere, and records that the body was stopped.
            status, result, error = RunStatus.FAILED, None, "cancelled: the run was finalised elsewhere"
        finally:
            self._claimed.pop(run.pk, None)
            self._finalised_elsewhere.discard(run.pk)
        finished = await self.worker.db(run_finish, run.pk, status=status, result=result, error=error, run=run)
        self._publish(finished)
        return finished

    async def _run_then_claim(self, run: IntentRun, intent_cls, config) -> IntentRun | None:
        """A `reads_only` run: its body, then the claim and the outcome in one commit (run_claim_finish).
        The run stays queued while the body reads; a run another worker recorded meanwhile, or one that
        expired, keeps that, and this body's outcome is dropped."""
        started_at = timezone.now()
        status, result, error = await self.run_body(run, intent_cls, config)
        lease = self.worker.lease
        finished = await self.worker.db_guarded(  # its UPDATE is conditioned on the live lease
            run_claim_finish, run, started_at=started_at, client_id=lease.client_id, token=lease.token,
            connection=lease.connection, status=status, result=result, error=error,
        )  # fmt: skip
        if finished is None:
            log.info("run #%s %s: not claimed after its body (recorded elsewhere or expired); its outcome is dropped", run.pk, run.intent)
            return None
        self._publish(finished)
        return finished

    async def run_body(self, run: IntentRun, intent_cls, config=None) -> tuple[str, dict | None, str]:
        """The intent's body with the settings read after the claim (`config`, when read with it)."""
        worker = self.worker
        if config is None:
            config = await worker.db(run_config, run, mode=worker.mode, default_account=worker.options.account)
        ctx = IntentContext(ib=worker.ib, run=run, config=config, worker=worker)
        if intent_cls.reads_only:
            ctx.orders = NoOrders(intent_cls.name)
        else:
            ctx.orders = OrderGateway(ctx, allowed_when_killed=intent_cls.allowed_when_killed)
        intent = intent_cls()
        try:
            params = intent_cls.Params.model_validate(run.params)
            result = await asyncio.wait_for(intent.run(ctx, params), timeout=intent_cls.timeout)
        except TimeoutError:
            return RunStatus.FAILED, _partial(ctx), TIMED_OUT.format(seconds=intent_cls.timeout)
        except IntentPartial as exc:
            await ctx.flush_records()
            result = {**exc.result}
            result.setdefault("orders", [placed.as_dict() for placed in ctx.orders.placed])
            return RunStatus.PARTIAL, result, str(exc)
        except IntentError as exc:
            return RunStatus.FAILED, _partial(ctx), str(exc)
        except Exception as exc:
            log.exception("run #%s %s raised", run.pk, run.intent)
            return RunStatus.FAILED, _partial(ctx), f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        result = dict(result or {})
        result.setdefault("orders", [placed.as_dict() for placed in ctx.orders.placed])
        await ctx.flush_records()
        return RunStatus.SUCCEEDED, result, ""

    def _publish(self, run: IntentRun) -> None:
        if self.worker is None:
            return
        payload = {
            "id": run.pk,
            "intent": run.intent,
            "status": run.status,
            "dry_run": run.dry_run,
            "source": run.source,
            "error": (run.error or "").splitlines()[0] if run.error else "",
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        }
        self.worker.broadcaster.publish(live_event("run.update", payload, mode=run.mode))


class NoOrders:
    """The order gateway of a `reads_only` run: it has no orders and refuses every order call."""

    def __init__(self, intent: str):
        self.intent = intent
        self.placed: list = []

    def __getattr__(self, name: str):
        raise IntentError(READS_ONLY.format(intent=self.intent))


def _fetch_and_claim(run_id: int, lease, *, mode: str, default_account: str = "") -> tuple[IntentRun, object | None]:
    """On the worker's database thread, in one hop: the run; for an intent that places no orders, also
    its claim and the settings it runs with (returned; None when not claimed). An order-placing run is
    claimed later, once it holds the order lock (`_claim_and_run`). The claim is `run_claim` either way,
    except for a `reads_only` intent: it is claimed with its outcome (`run_claim_finish`), and its
    settings are returned only while the run could still be claimed."""
    run = IntentRun.objects.get(pk=run_id)
    intent_cls = intent_get(run.intent)
    if intent_cls.places_orders:
        return run, None
    if intent_cls.reads_only:
        claimable = run.status == RunStatus.QUEUED and run.start_deadline > timezone.now() and run.connection == lease.connection
        return run, run_config(run, mode=mode, default_account=default_account) if claimable else None
    if not run_claim(run.pk, client_id=lease.client_id, token=lease.token, connection=lease.connection, run=run):
        return run, None  # someone else has it, it expired, or this worker no longer owns the client id
    return run, run_config(run, mode=mode, default_account=default_account)


def run_config(run: IntentRun, *, mode: str, default_account: str = ""):
    """The settings a run executes under: the worker's own connection's mode, not the console's active
    mode (a paper and a live connection run side by side, each under the common rows plus its own
    mode's), and its account's row — the run's account, else the one the worker's connection trades."""
    return effective_config(mode, account=getattr(run, "account", "") or default_account or None)


def _partial(ctx: IntentContext) -> dict:
    return {"orders": [placed.as_dict() for placed in ctx.orders.placed], "notes": ctx.notes}


def queued_runs(*, connection: str, limit: int = 50) -> list[int]:
    """The queued runs the sweep hands over: its own connection's only (run_claim would refuse the others)."""
    return list(IntentRun.objects.filter(status=RunStatus.QUEUED, connection=connection).values_list("pk", flat=True)[:limit])
