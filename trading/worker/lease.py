"""The owner lease: exactly one live IB worker per client id of a connection, fenced by a token that only grows.

A lease is keyed by (connection, client id): two gateways may each have a client 1. Every function
takes `connection` (the IB connection's name, trading/connections/), "default" when not given: the
environment's connection, so a caller that names only a client id behaves as before connections.

    (no row) ──acquire──▶ held(token 1)
    held(t) ──renew, every heartbeat──▶ held(t), expires_at = now + ttl
    held(t) ──release, on a clean stop──▶ released(t) ──acquire──▶ held(t+1)
    held(t) ──not renewed for ttl──▶ expired(t) ──acquire──▶ held(t+1)
    held(t) by a dead pid on this host ──acquire──▶ held(t+1)     (a crash: no need to wait out the ttl)
    held(t) ──acquire by anyone else──▶ refused (the second worker exits in one line, touching nothing)

Invariants:
- at most one owner holds a live lease per (connection, client id): acquiring is one conditional UPDATE (or the
  INSERT of the first row) whose row count decides, compared against the token read just before;
- the token grows on every acquisition, so work stamped with an older token belongs to a worker that
  has lost the lease;
- claiming a run needs the lease live with this token (run_claim stamps it on the run); recording
  needs this token still current (batch_scope, IBWorker.db): an owner paused past its ttl and then
  resumed can neither start work nor write rows;
- renew fails only when the token has moved on or the lease was released: the worker has lost it, and
  stops without writing anything more (no heartbeat, no activity);
- expiry only allows a takeover; until someone takes over, the token is still the fence, so an owner
  that renews late (a slow database) keeps its lease.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone

from trading.models import DEFAULT_CONNECTION, WorkerLease

LEASE_HELD = "client id {client_id} is owned by a running worker ({owner}, lease token {token}, renewed {age:.1f}s ago); not starting a second one"
LEASE_LOST = (
    "client id {client_id}: lease token {token} is no longer current (taken over by {owner}); this worker has lost the lease"
)
TTL_HEARTBEATS = 3  # a lease not renewed for this many heartbeats can be taken over
MIN_TTL = 3.0  # seconds: a busy SQLite must not expire a healthy worker's lease


class LeaseLost(OperationalError):
    """Raised where a fenced-out worker tries to record. An OperationalError on purpose: the recorder
    keeps such a batch (retries it, then writes it to its dead-letter file at stop) instead of
    writing its events one by one."""


def lease_ttl(heartbeat_interval: float) -> float:
    return max(TTL_HEARTBEATS * heartbeat_interval, MIN_TTL)


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class LeaseHold:
    """What a worker knows of its lease: the fencing token it holds (0 before it acquired one)."""

    client_id: int
    ttl: float
    owner: str = ""
    token: int = 0
    lost: bool = False
    connection: str = DEFAULT_CONNECTION
    lost_message: str = ""  # how the loss was found (LEASE_LOST): the worker's last words say it, whoever found it

    def verify(self) -> None:
        """Raise LeaseLost unless this token is still current (one indexed read; cheap enough per batch)."""
        if self.lost or not lease_holds(client_id=self.client_id, token=self.token, lock=True, connection=self.connection):
            self.lose()

    def lose(self) -> None:
        """Mark the lease lost and raise LeaseLost, saying who holds the client id now."""
        self.lost = True  # first: lost even if the message's read below fails
        message = lease_lost_message(self.client_id, self.token, connection=self.connection)
        self.lost_message = self.lost_message or message
        raise LeaseLost(message)


def _leases(connection: str, client_id: int):
    return WorkerLease.objects.filter(connection=connection, client_id=client_id)


def lease_acquire(*, client_id: int, owner: str, ttl: float, connection: str = DEFAULT_CONNECTION) -> int | None:
    """Take the lease if it is free (none yet, released, expired, or its owner died on this host);
    returns the new token, or None while a live owner holds it."""
    now = timezone.now()
    fields = {"owner": owner, "acquired_at": now, "renewed_at": now, "expires_at": now + timedelta(seconds=ttl)}
    current = _leases(connection, client_id).first()
    if current is None:
        try:
            with transaction.atomic():
                WorkerLease.objects.create(connection=connection, client_id=client_id, token=1, released=False, **fields)
            return 1
        except IntegrityError:  # another worker created it first: it is the owner
            return None
    free = Q(released=True) | Q(expires_at__lte=now)
    if _owner_is_dead(current.owner):
        free |= Q(pk=current.pk)
    # `token=current.token` makes this a compare-and-swap: a takeover since our read leaves 0 rows.
    taken = (
        _leases(connection, client_id).filter(free, token=current.token).update(token=F("token") + 1, released=False, **fields)
    )
    return current.token + 1 if taken else None


def lease_renew(*, client_id: int, token: int, ttl: float, connection: str = DEFAULT_CONNECTION) -> bool:
    """Push the expiry on; False means the lease is lost (taken over or released)."""
    now = timezone.now()
    renewed = (
        _leases(connection, client_id)
        .filter(token=token, released=False)
        .update(renewed_at=now, expires_at=now + timedelta(seconds=ttl))
    )
    return bool(renewed)


def lease_release(*, client_id: int, token: int, connection: str = DEFAULT_CONNECTION) -> bool:
    """Give the lease up at a clean stop: the next worker takes it at once."""
    return bool(
        _leases(connection, client_id).filter(token=token, released=False).update(released=True, expires_at=timezone.now())
    )


def lease_holds(*, client_id: int, token: int, lock: bool = False, connection: str = DEFAULT_CONNECTION) -> bool:
    """Is `token` still the current one? With `lock`, inside a transaction, a takeover waits for it (PostgreSQL)."""
    rows = _leases(connection, client_id).filter(token=token, released=False)
    if lock and transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update()
    return rows.exists()


def lease_live(*, client_id: int, token: int, connection: str = DEFAULT_CONNECTION):
    """The lease row as a queryset, when `token` holds it and it has not expired (for conditional UPDATEs)."""
    return _leases(connection, client_id).filter(token=token, released=False, expires_at__gt=timezone.now())


def lease_live_tokens(*, connection: str | None = None) -> list[int]:
    """The live leases' tokens, of one connection when given (tokens of different connections may be equal)."""
    rows = WorkerLease.objects.filter(released=False, expires_at__gt=timezone.now())
    if connection is not None:
        rows = rows.filter(connection=connection)
    return list(rows.values_list("token", flat=True))


def lease_held_message(client_id: int, *, connection: str = DEFAULT_CONNECTION) -> str:
    lease = _leases(connection, client_id).first()
    if lease is None:
        message = LEASE_HELD.format(client_id=client_id, owner="?", token="?", age=0.0)
    else:
        age = (timezone.now() - lease.renewed_at).total_seconds()
        message = LEASE_HELD.format(client_id=client_id, owner=lease.owner, token=lease.token, age=age)
    return _named(connection, message)


def lease_lost_message(client_id: int, token: int, *, connection: str = DEFAULT_CONNECTION) -> str:
    lease = _leases(connection, client_id).first()
    owner = f"{lease.owner}, token {lease.token}" if lease and lease.token != token else "nobody: released"
    return _named(connection, LEASE_LOST.format(client_id=client_id, token=token, owner=owner))


def _named(connection: str, message: str) -> str:
    """The default connection's messages read as they always have; another's name the connection first."""
    return message if connection == DEFAULT_CONNECTION else f"connection {connection}: {message}"


def _owner_is_dead(owner: str) -> bool:
    """An owner on this host whose process is gone (SIGKILL, OOM) cannot be holding anything."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host: only the ttl can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
