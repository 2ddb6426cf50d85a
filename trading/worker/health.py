"""Worker health: the heartbeat row readers use to tell "worker down", handler stats, loop lag."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.models import DEFAULT_CONNECTION, HandlerStat, WorkerHeartbeat
from trading.worker.dbconn import connection_refresh
from trading.worker.lease import lease_renew

log = logging.getLogger("trading.worker.health")


def worker_name(connection: str = DEFAULT_CONNECTION) -> str:
    """The worker's heartbeat row: `ibworker` for the default connection (what every reader asks for),
    `ibworker-NAME` for another."""
    return "ibworker" if connection == DEFAULT_CONNECTION else f"ibworker-{connection}"


LAG_PROBE_INTERVAL = 0.25
LAG_WARN_MS = 200.0


class LoopLagMonitor:
    """Measures how late the loop wakes a sleeping task: a blocking call shows up as lag."""

    def __init__(self, interval: float = LAG_PROBE_INTERVAL):
        self.interval = interval
        self.last_ms = 0.0
        self.max_ms = 0.0  # since the last heartbeat
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="loop-lag")

    def take_max(self) -> float:
        value, self.max_ms = self.max_ms, 0.0
        return value

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.last_ms = max(0.0, (time.perf_counter() - started - self.interval) * 1000)
            self.max_ms = max(self.max_ms, self.last_ms)
            if self.last_ms > LAG_WARN_MS:
                log.warning("event loop lag %.0f ms: something blocked the worker's loop", self.last_ms)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def heartbeat_write(*, name: str, fields: dict, handler_stats: list[dict], lease=None) -> None:
    """Renew the worker's lease and, only if that worked, upsert the heartbeat row and the handler stats
    (runs on the heartbeat thread). One transaction: a worker without the lease never writes the row."""
    connection_refresh()
    with transaction.atomic():
        if lease is not None and not lease_renew(
            client_id=lease.client_id, token=lease.token, ttl=lease.ttl, connection=lease.connection
        ):
            lease.lose()
        _heartbeat_rows_write(name=name, fields=fields, handler_stats=handler_stats)


def _heartbeat_rows_write(*, name: str, fields: dict, handler_stats: list[dict]) -> None:
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={**fields, "updated_at": timezone.now()})
    seen = []
    for stat in handler_stats:
        row, _ = HandlerStat.objects.update_or_create(
            file=stat["file"],
            name=stat["name"],
            event=stat["event"],
            defaults={
                "line": stat.get("line") or 0,
                "is_async": stat.get("is_async", False),
                "calls": stat.get("calls", 0),
                "errors": stat.get("errors", 0),
                "slow_calls": stat.get("slow", stat.get("slow_calls", 0)),
                "mean_ms": stat.get("mean_ms", 0.0),
                "max_ms": stat.get("max_ms", 0.0),
                "last_error": (stat.get("last_error") or {}).get("message", "")
                if isinstance(stat.get("last_error"), dict)
                else (stat.get("last_error") or ""),
                "loaded": True,
            },
        )
        seen.append(row.pk)
    HandlerStat.objects.exclude(pk__in=seen).update(loaded=False)


def heartbeat_state(name: str = "ibworker", *, max_age: int | None = None) -> dict:
    """What readers (API, dashboard, `up`) know about the worker: alive means a fresh heartbeat."""
    return heartbeat_row_state(WorkerHeartbeat.objects.filter(name=name).first(), max_age=max_age)


def heartbeat_row_state(row: WorkerHeartbeat | None, *, max_age: int | None = None) -> dict:
    """`heartbeat_state` of a heartbeat row read already (None: the worker has never run)."""
    max_age = max_age or settings.WORKER_HEARTBEAT_MAX_AGE
    if row is None:
        return {"alive": False, "connected": False, "reason": "the IB worker has never run"}
    age = (timezone.now() - row.updated_at).total_seconds()
    alive = age <= max_age
    return {
        "alive": alive,
        "connected": alive and row.connected,
        "age_seconds": round(age, 1),
        "reason": "" if alive else f"no heartbeat for {age:.0f}s (more than {max_age}s)",
        "gateway": row.gateway,
        "server_version": row.server_version,
        "mode": row.mode,
        "last_event_at": row.last_event_at.isoformat() if row.last_event_at else None,
        "loop_lag_ms": row.loop_lag_ms,
        "runs_in_progress": row.runs_in_progress,
        "details": row.details,
    }


def heartbeat_is_fresh(name: str = "ibworker") -> bool:
    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE)
    return WorkerHeartbeat.objects.filter(name=name, updated_at__gte=cutoff, connected=True).exists()
