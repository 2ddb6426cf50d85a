"""IB connections as data: one row per IB Gateway/TWS session the console runs a worker for.

The environment (IB_HOST, IB_PORT, IB_CLIENT_ID, IB_ACCOUNT, TRADING_MODE) defines the row named
`default` (trading/connections/services.py keeps it in step at start); more rows are added in the
admin or with `manage.py connection add`. The life cycle and the rules are in trading/connections/.
"""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from trading.models.config import TradingMode

DEFAULT_CONNECTION = "default"
CONNECTION_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"  # it names a channel and a heartbeat row too

connection_name_validator = RegexValidator(
    CONNECTION_NAME_PATTERN, "1-40 letters, digits, '-' or '_', starting with a letter or digit."
)


class IBConnection(models.Model):
    name = models.CharField(max_length=40, unique=True, validators=[connection_name_validator])
    host = models.CharField(
        max_length=255,
        blank=True,
        help_text="IB Gateway/TWS host. Blank: the embedded paper gateway `up` starts on 127.0.0.1 at this port (paper only).",
    )
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    client_id = models.IntegerField(
        validators=[MinValueValidator(0)], help_text="The worker's client id on this gateway; IB binds orders to it."
    )
    mode = models.CharField(
        max_length=10, choices=TradingMode.choices, default=TradingMode.PAPER, help_text="What this gateway is."
    )
    accounts = models.JSONField(
        default=list, blank=True, help_text="Accounts this connection may trade; empty: whatever the gateway manages."
    )
    enabled = models.BooleanField(default=True, help_text="`up` starts a worker only for enabled connections.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "IB connection"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["host", "port", "client_id"], name="ib_connection_endpoint_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def embedded(self) -> bool:
        """A paper connection with no host: its gateway is the embedded one `up` starts."""
        return not self.host

    @property
    def connect_host(self) -> str:
        return self.host or "127.0.0.1"

    @property
    def endpoint(self) -> str:
        return f"{self.connect_host}:{self.port}" + (" (embedded)" if self.embedded else "")
