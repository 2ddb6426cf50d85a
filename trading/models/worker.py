"""What the IB worker tells the rest of the console about itself: heartbeat and handler stats."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per worker name, rewritten every few seconds. Older than the max age = worker down."""

    name = models.CharField(max_length=50, unique=True, default="ibworker")
    mode = models.CharField(max_length=10, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    connected = models.BooleanField(default=False)
    gateway = models.CharField(max_length=100, blank=True)
    server_version = models.PositiveIntegerField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    loop_lag_ms = models.FloatField(default=0)
    runs_in_progress = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class HandlerStat(models.Model):
    """Per event handler: where it lives and how it behaves (written by the worker)."""

    file = models.CharField(max_length=500)
    name = models.CharField(max_length=200)
    event = models.CharField(max_length=64)
    line = models.PositiveIntegerField(default=0)
    is_async = models.BooleanField(default=False)
    calls = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0)
    slow_calls = models.PositiveBigIntegerField(default=0)
    mean_ms = models.FloatField(default=0)
    max_ms = models.FloatField(default=0)
    last_error = models.TextField(blank=True)
    loaded = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["file", "line"]
        constraints = [models.UniqueConstraint(fields=["file", "name", "event"], name="handler_stat_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.event})"


class WorkerLease(models.Model):
    """Who owns one IB client id of one connection now (trading/worker/lease.py has the life cycle and
    its rules). Keyed by (connection, client id): two gateways may each have a client 1.

    `token` grows on every takeover: work stamped with an older token belongs to a worker that lost
    the lease, and is refused."""

    connection = models.CharField(max_length=40, default="default", help_text="The IB connection's name.")
    client_id = models.IntegerField()
    owner = models.CharField(max_length=200, help_text="host:pid of the worker holding the lease.")
    token = models.BigIntegerField(default=0)
    acquired_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    released = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "client_id"], name="worker_lease_connection_client")]

    def __str__(self) -> str:
        return f"{self.connection} client {self.client_id}: {self.owner} (token {self.token})"
