"""The recorder: IB events become rows without ever blocking the worker's loop.

Events are snapshotted on the loop and queued; one writer thread applies them in arrival order (so an
order's statuses and fills keep their order), many per transaction when they come in bursts. A
database that is down is retried with backoff until it is back; an event that can never be written
(bad data) is logged, written to a dead-letter file and counted: nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from django.db import DatabaseError, InterfaceError, OperationalError, transaction

from trading.worker.dbconn import connection_refresh

log = logging.getLogger("trading.worker.recorder")

MAX_BATCH = 500
RETRY_FIRST, RETRY_MAX = 0.2, 5.0
TRANSIENT = (OperationalError, InterfaceError)


@dataclass
class Op:
    """One write: `apply(**kwargs)` runs on the writer thread and returns live events."""

    apply: Callable[..., object]
    kwargs: dict
    on_done: Callable[[object], None] | None = None
    queued_at: float = field(default_factory=time.monotonic)
    # Ops with the same key in one batch collapse into one: the first one's place, the last one's data
    # (an order's PreSubmitted→Submitted→Filled burst is one write of its final state).
    key: tuple | None = None
    # Ops naming the same `merge` function in one batch are written together, by one call of
    # merge(items=[kwargs, ...]) at the first one's place (an account update's dozens of values: one statement).
    merge: Callable[..., object] | None = None

    def describe(self) -> str:
        return f"{self.apply.__name__}({json.dumps(self.kwargs, default=str)[:300]})"


@dataclass
class RecorderStats:
    written: int = 0
    batches: int = 0
    retries: int = 0
    dead_letters: int = 0
    coalesced: int = 0
    last_commit_ms: float = 0.0


class Recorder:
    def __init__(
        self,
        *,
        publish: Callable[[dict], None],
        dead_letter_path: Path,
        batch_scope: Callable[[list[dict]], AbstractContextManager] | None = None,
    ):
        self.queue: asyncio.Queue[Op] = asyncio.Queue()
        self.publish = publish
        # Entered inside each batch's transaction with the ops' kwargs (e.g. to read their rows up front).
        self.batch_scope = batch_scope or (lambda items: nullcontext())
        self.dead_letter_path = dead_letter_path
        self.stats = RecorderStats()
        self.written_ops: Counter[str] = Counter()  # writes committed per op name (trading/observability/)
        self._oldest_pending: float | None = None  # queued_at of the oldest op of the batch being written
        # One thread: a single writer keeps event order and one database connection.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder")
        self._task: asyncio.Task | None = None

    def submit(
        self,
        apply: Callable[..., object],
        on_done: Callable[[object], None] | None = None,
        *,
        coalesce_key=None,
        merge: Callable[..., object] | None = None,
        **kwargs,
    ) -> None:
        self.queue.put_nowait(Op(apply, kwargs, on_done, key=coalesce_key, merge=merge))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="recorder")

    async def flush(self) -> None:
        """Wait until every op queued so far is written (or dead-lettered)."""
        await self.queue.join()

    async def written_through(self) -> None:
        """Wait until every op queued before this call is written (or dead-lettered). Unlike flush(),
        it returns under a sustained load too: later ops need not be written, only the earlier ones."""
        done = asyncio.get_running_loop().create_future()
        self.submit(_barrier, on_done=lambda result: done.done() or done.set_result(None))
        await done

    async def stop(self, timeout: float = 15.0) -> None:
        """Write what is queued; if the database stays down past `timeout`, keep the rest on disk."""
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.error("database still unavailable at shutdown: %d event(s) kept in %s", self.queue.qsize(), self.dead_letter_path)
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self.queue.empty():
            op = self.queue.get_nowait()
            self._dead_letter(op, RuntimeError("not written before shutdown"))
            self.queue.task_done()
        await asyncio.get_running_loop().run_in_executor(self.executor, _close_connection)
        self.executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            taken = len(batch)
            self._oldest_pending = batch[0].queued_at  # FIFO: nothing still queued is older
            try:
                batch = coalesce(batch)
                self.stats.coalesced += taken - len(batch)
                results = await self._write_with_retry(loop, batch)
                for op, result in zip(batch, results, strict=True):
                    self._deliver(op, result)
            finally:
                self._oldest_pending = None
                for _ in range(taken):
                    self.queue.task_done()

    def lag_seconds(self) -> float:
        """How long the oldest event not yet written has waited (0 when the writer is idle); callable
        from any thread. A database that is down shows here first: the batch being retried ages."""
        oldest = self._oldest_pending
        return 0.0 if oldest is None else max(0.0, time.monotonic() - oldest)

    def _deliver(self, op: Op, result) -> None:
        events = result[0] if isinstance(result, tuple) else result
        for event in events or []:
            self.publish(event)
        if op.on_done is not None:
            try:
                op.on_done(result)
            except Exception:
                log.exception("recorder callback failed for %s", op.describe())

    async def _write_with_retry(self, loop, batch: list[Op]) -> list:
        delay = RETRY_FIRST
        while True:
            try:
                return await loop.run_in_executor(self.executor, self._write_batch, batch)
            except TRANSIENT as exc:
                self.stats.retries += 1
                log.warning("database unavailable (%s); retrying %d event(s) in %.1fs", exc, len(batch), delay)
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:  # stopped while waiting to retry: keep the batch on disk
                    for op in batch:
                        self._dead_letter(op, exc)
                    raise
                delay = min(delay * 2, RETRY_MAX)

    def _write_batch(self, batch: list[Op]) -> list:
        connection_refresh()
        started = time.perf_counter()
        try:
            with transaction.atomic(), self.batch_scope([op.kwargs for op in batch]):
                results = [op.apply(**op.kwargs) for op in batch]
        except TRANSIENT:
            raise
        except DatabaseError as exc:
            if _is_transient(exc):
                raise OperationalError(str(exc)) from exc
            # One bad event must not block the others: write them one by one, set the bad one aside.
            results = [self._write_one(op) for op in batch]
        except Exception:
            results = [self._write_one(op) for op in batch]
        self.stats.batches += 1
        self.stats.written += len(batch)
        self.written_ops.update(op.apply.__name__ for op in batch)
        self.stats.last_commit_ms = (time.perf_counter() - started) * 1000
        return results

    def _write_one(self, op: Op):
        try:
            with transaction.atomic():
                return op.apply(**op.kwargs)
        except TRANSIENT:
            raise
        except Exception as exc:
            self._dead_letter(op, exc)
            return []

    def _dead_letter(self, op: Op, exc: Exception) -> None:
        self.stats.dead_letters += 1
        log.error("cannot record %s: %s: %s (kept in %s)", op.describe(), type(exc).__name__, exc, self.dead_letter_path)
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter_path.open("a") as out:
            out.write(json.dumps({"op": op.apply.__name__, "kwargs": op.kwargs, "error": repr(exc)}, default=str) + "\n")


def coalesce(batch: list[Op]) -> list[Op]:
    """Keep one op per key: at the first one's position (so what depends on it still follows it), with
    the last one's data (the newest state). Then ops sharing a `merge` function become one op there."""
    first: dict[tuple, Op] = {}
    kept: list[Op] = []
    for op in batch:
        if op.key is None:
            kept.append(op)
        elif op.key in first:
            first[op.key].kwargs = op.kwargs
        else:
            first[op.key] = op
            kept.append(op)
    merged: dict[Callable, Op] = {}
    out: list[Op] = []
    for op in kept:
        if op.merge is None or op.on_done is not None:
            out.append(op)
        elif op.merge in merged:
            merged[op.merge].kwargs["items"].append(op.kwargs)
        else:
            merged[op.merge] = Op(op.merge, {"items": [op.kwargs]}, queued_at=op.queued_at)
            out.append(merged[op.merge])
    return out


def _barrier() -> list:
    return []  # written after every op queued before it: the writer keeps arrival order


def _is_transient(exc: DatabaseError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("database is locked", "connection", "server closed", "terminating"))


def _close_connection() -> None:
    from django.db import connection

    connection.close()
