"""Stored bars (what backtests replay) and backtest records (what they found): trading/backtest/."""

from django.conf import settings as django_settings
from django.db import models


class Bar(models.Model):
    """One historical bar of one symbol, bar size and price kind, as IB or a CSV file gave it.

    `start` is the bar's opening time and `end` the moment it is complete: a backtest's clock sees a
    bar only from `end` on (a daily bar at the session close, 16:00 New York), never before."""

    symbol = models.CharField(max_length=32)
    bar_size = models.CharField(max_length=16, help_text='IB\'s barSizeSetting: "1 day", "30 mins", …')
    what_to_show = models.CharField(max_length=16, default="TRADES")
    start = models.DateTimeField()
    end = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField(default=0)
    source = models.CharField(max_length=16, default="ib", help_text="ib (the fetch_bars intent) or csv.")

    class Meta:
        ordering = ["symbol", "bar_size", "what_to_show", "start"]
        constraints = [models.UniqueConstraint(fields=["symbol", "bar_size", "what_to_show", "start"], name="bar_unique_start")]
        indexes = [models.Index(fields=["symbol", "bar_size", "what_to_show", "end"], name="bar_key_end")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.bar_size} {self.what_to_show} {self.start:%Y-%m-%d %H:%M}"


class BacktestStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Backtest(models.Model):
    """One backtest asked from the admin or the API (the CLI keeps none): its settings, progress and
    result — the same JSON `manage.py backtest --json` prints."""

    strategy = models.CharField(max_length=64, help_text="The strategy intent's name.")
    start = models.DateField()
    end = models.DateField()
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED)
    progress = models.FloatField(default=0.0, help_text="Share of the simulated steps done, 0..1.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    source = models.CharField(max_length=16, default="admin")
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"backtest #{self.pk} {self.strategy} {self.start}..{self.end}"
