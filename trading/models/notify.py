"""Notifications: where messages go (targets), what was sent (sends), and how far the feed has read.

A target's apprise URL carries its secrets (bot tokens, webhook keys, passwords): it is stored as typed,
shown masked everywhere (`trading.notify.targets.url_mask`), and never logged. Targets from the
NOTIFY_URLS environment variable are not rows; their sends name them by `target_key`.
"""

from django.db import models


class NotifyKind(models.TextChoices):
    FILL = "fill", "Fill"
    ORDER_REJECTED = "order_rejected", "Order rejected"
    RUN_FAILED = "run_failed", "Run failed / partial"
    KILL_SWITCH = "kill_switch", "Kill switch engaged"
    DISCONNECTED = "disconnected", "Worker disconnected"
    EXTERNAL_POSITION = "external_position", "External position change"
    DAILY_SUMMARY = "daily_summary", "Daily summary"
    TEST = "test", "Test message"

    @classmethod
    def event_values(cls) -> list[str]:
        """The kinds a target can subscribe to (a test message goes to the target it was asked for)."""
        return [value for value in cls.values if value != cls.TEST]


def all_event_kinds() -> list[str]:
    return NotifyKind.event_values()


class NotifyTarget(models.Model):
    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(
        "apprise URL",
        max_length=2000,
        help_text="Holds secrets; shown masked. E.g. tgram://BOT_TOKEN/CHAT_ID, ntfy://topic, slack://T/B/C, json://host:port/path.",
    )
    enabled = models.BooleanField(default=True)
    kinds = models.JSONField("events", default=all_event_kinds, blank=True, help_text="The event kinds this target receives.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "notification target"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SendStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"


class NotifySend(models.Model):
    """One message to one target: it gathers the events of a burst while pending, then is sent (retried)."""

    target = models.ForeignKey(NotifyTarget, null=True, blank=True, on_delete=models.SET_NULL, related_name="sends")
    target_key = models.CharField(max_length=64, db_index=True, help_text="db:<id> or env:<hash> (NOTIFY_URLS).")
    target_label = models.CharField("target", max_length=200)
    kind = models.CharField(max_length=32, choices=NotifyKind.choices, db_index=True)
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.PENDING, db_index=True)
    items = models.JSONField(default=list, blank=True)
    title = models.CharField(max_length=250, blank=True)
    body = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    due_at = models.DateTimeField(db_index=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "notification sent"
        verbose_name_plural = "notifications sent"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_key", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.target_label}: {self.title or self.status}"


class NotifyCursor(models.Model):
    """The one row (pk 1) saying how far the feed has read the activity log, and what it watches."""

    last_entry_id = models.BigIntegerField(default=0)
    holes = models.JSONField(default=dict, blank=True, help_text="Ids below the cursor not yet seen: {id: first seen}.")
    watch = models.JSONField(default=dict, blank=True, help_text="Open disconnects per mode.")
    summary_day = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification cursor"
