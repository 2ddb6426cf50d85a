"""Performance history the worker records: the account's equity over time (trading/performance/)."""

from django.db import models

from trading.models.records import connection_field


class EquityResolution(models.TextChoices):
    MINUTE = "minute", "Minute (recent days)"
    DAY = "day", "Day (the day's last point, after compaction)"


class EquitySnapshot(models.Model):
    """Net liquidation and P&L at one moment: every minute while connected and after each fill; older
    than EQUITY_MINUTE_DAYS, one per display-zone day is kept (trading/performance/equity.py)."""

    mode = models.CharField(max_length=10)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True)
    taken_at = models.DateTimeField(db_index=True)
    net_liquidation = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=8, blank=True)
    daily_pnl = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    unrealized_pnl = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    realized_pnl = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=16, help_text="What took it: minute, fill.")
    resolution = models.CharField(max_length=8, choices=EquityResolution.choices, default=EquityResolution.MINUTE)

    class Meta:
        ordering = ["taken_at", "id"]
        indexes = [models.Index(fields=["mode", "taken_at"], name="equity_mode_taken_at")]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M} {self.net_liquidation} {self.currency}"
