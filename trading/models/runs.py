"""Intent runs, strategy targets and the allocator's decisions."""

from django.conf import settings
from django.db import models

from trading.models.connections import DEFAULT_CONNECTION


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (not started in time)"
    INTERRUPTED = "interrupted", "Interrupted (worker stopped)"
    PARTIAL = "partial", "Partial (done, with something left it could not do)"

    @classmethod
    def final_values(cls) -> list[str]:
        return [cls.SUCCEEDED, cls.FAILED, cls.EXPIRED, cls.INTERRUPTED, cls.PARTIAL]


class RunSource(models.TextChoices):
    API = "api", "REST API"
    CLI = "cli", "manage.py runintent"
    ADMIN = "admin", "Admin"
    DASHBOARD = "dashboard", "Dashboard"
    SCHEDULE = "schedule", "Schedule"
    WEBHOOK = "webhook", "Webhook"
    SYSTEM = "system", "System"


class IntentRun(models.Model):
    """One request to run an intent: who asked, from where, with what, and what came of it."""

    intent = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    mode = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=16, choices=RunSource.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    start_deadline = models.DateTimeField(null=True, blank=True, help_text="Not started by then: expired.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True, help_text="The django-q2 task that carries the run.")
    lease_token = models.BigIntegerField(
        null=True, blank=True, help_text="Fencing token of the worker lease that claimed the run (trading/worker/lease.py)."
    )
    account = models.CharField(
        max_length=32, blank=True, help_text="The IB account the run trades; blank: the only one (none was known)."
    )
    connection = models.CharField(
        max_length=40, default=DEFAULT_CONNECTION, help_text="The IB connection whose worker runs it (the account's)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.intent} [{self.status}]"


class TargetStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"


class StrategyTarget(models.Model):
    """A strategy's published target (`strategies/{id}/intent/latest`); the newest one per mode counts."""

    strategy = models.ForeignKey("trading.Strategy", on_delete=models.CASCADE, related_name="targets")
    mode = models.CharField(max_length=10, db_index=True)
    status = models.CharField(max_length=10, choices=TargetStatus.choices)
    # [{"symbol", "sec_type", "exchange", "currency", "con_id", "quantity"}, …]
    rows = models.JSONField(default=list)
    metadata = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(IntentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="targets")
    updated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"{self.strategy_id} target [{self.status}]"


class AllocationDecision(models.Model):
    """What the allocator (the seed's commander) saw, decided and sent."""

    run = models.ForeignKey(IntentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    mode = models.CharField(max_length=10, db_index=True)
    dry_run = models.BooleanField(default=False)
    inputs = models.JSONField(default=dict)
    aggregate = models.JSONField(default=dict)
    diff = models.JSONField(default=dict)
    orders = models.JSONField(default=list)
    notes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
