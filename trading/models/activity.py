"""The append-only activity log: the seed's `activity` collection, for every event worth a trace."""

from django.conf import settings
from django.db import models

from trading.models.connections import DEFAULT_CONNECTION


class ActivityKind(models.TextChoices):
    INTENT_RUN = "intent_run", "Intent run"
    ORDER = "order", "Order"
    ORDER_REFUSED = "order_refused", "Order refused"
    FILL = "fill", "Fill"
    CONFIG_CHANGE = "config_change", "Config change"
    CONNECTION = "connection", "Connection"
    HANDLER_ERROR = "handler_error", "Handler error"
    EXTERNAL_POSITION_CHANGE = "external_position_change", "External position change"
    RISK = "risk", "Risk"
    IB_ERROR = "ib_error", "IB error"
    RECONCILIATION = "reconciliation", "Reconciliation"
    WORKER = "worker", "Worker"
    AUTH = "auth", "Sign-in"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"


class AppendOnlyError(Exception):
    """Activity entries are never changed or deleted once written."""


class ActivityEntry(models.Model):
    kind = models.CharField(max_length=32, choices=ActivityKind.choices, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    mode = models.CharField(max_length=10, blank=True, db_index=True)
    connection = models.CharField(
        max_length=40, default=DEFAULT_CONNECTION, db_index=True, help_text="The IB connection the entry is about."
    )
    account = models.CharField(max_length=32, blank=True, db_index=True)
    strategy = models.CharField(max_length=64, blank=True, db_index=True)
    run = models.ForeignKey("trading.IntentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="activity")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    message = models.CharField(max_length=500)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "activity entry"
        verbose_name_plural = "activity"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"

    # The log is evidence: refuse to rewrite history, whoever asks (admin, shell, code).
    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("activity entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("activity entries are append-only")
