"""Trading settings per scope (common, paper, live, account) and strategies: the seed's `config/*` documents.

A mode's non-null values override common. An account row (scope `account`, keyed by its `account`)
holds only the switches and the risk limits for one IB account: its switches add to the others (a
stop anywhere stops) and its limits tighten the mode's (trading/config.py). Every field is validated
here, so the admin and code get the same message naming the field.
"""

import re
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class TradingMode(models.TextChoices):
    PAPER = "paper", "Paper"
    LIVE = "live", "Live"


class ConfigScope(models.TextChoices):
    COMMON = "common", "Common (all modes)"
    PAPER = "paper", "Paper overrides"
    LIVE = "live", "Live overrides"
    ACCOUNT = "account", "One account"


class MarketDataType(models.IntegerChoices):
    LIVE = 1, "1 - live"
    FROZEN = 2, "2 - frozen"
    DELAYED = 3, "3 - delayed"
    DELAYED_FROZEN = 4, "4 - delayed frozen"


class OrderType(models.TextChoices):
    """IB's order types the console builds (trading/intents/order_build.py)."""

    MARKET = "MKT", "Market"
    LIMIT = "LMT", "Limit"
    STOP = "STP", "Stop"
    STOP_LIMIT = "STP LMT", "Stop limit"
    TRAIL = "TRAIL", "Trailing stop"
    MARKET_ON_CLOSE = "MOC", "Market on close"
    LIMIT_ON_CLOSE = "LOC", "Limit on close"


class TimeInForce(models.TextChoices):
    DAY = "DAY", "Day"
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    OPG = "OPG", "At the opening"


# What a setting may choose as the default for built-in intents: a stop or an at-the-close order
# is a decision about one order, never a sensible default for every order.
DEFAULT_ORDER_TYPES = [(OrderType.MARKET.value, OrderType.MARKET.label), (OrderType.LIMIT.value, OrderType.LIMIT.label)]
DEFAULT_TIFS = [(tif.value, tif.label) for tif in (TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC)]


SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.]{0,11}$")
UNIT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]

# Fields a mode may override; the common row must set each of them (None = not set).
OVERRIDABLE_FIELDS = (
    "trading_enabled",
    "soft_stop",
    "market_data_type",
    "account",
    "overall_exposure",
    "default_order_type",
    "default_tif",
    "limit_offset_bps",
    "max_order_quantity",
    "max_order_notional",
    "allowed_symbols",
    "daily_loss_limit",
    "max_gross_exposure",
    "cash_balancer_threshold",
    "enforce_flat_eod",
    "flatten_unowned_positions",
    "what_if_check",
    "dry_run_default",
    "cancel_foreign_orders",
)
# Fields only the common row sets (a mode row leaves them blank).
COMMON_ONLY_FIELDS = ("active_mode", "display_time_zone")
# What an account row may set: the switches and the risk limits (blank: no opinion / no tighter limit).
ACCOUNT_SWITCH_FIELDS = ("trading_enabled", "soft_stop")
ACCOUNT_LIMIT_FIELDS = ("max_order_quantity", "max_order_notional", "allowed_symbols", "daily_loss_limit", "max_gross_exposure")
ACCOUNT_FIELDS = (*ACCOUNT_SWITCH_FIELDS, *ACCOUNT_LIMIT_FIELDS)
ACCOUNT_ONLY_SWITCHES_AND_LIMITS = "An account row sets only the switches and the risk limits: leave this blank."
ACCOUNT_ROW_EXISTS = "Account {account} already has its settings row: change that one."
ACCOUNT_KEY_MISSING = "An account row must name its IB account."
UNKNOWN_ACCOUNT = "unknown account {account!r}: no IB connection lists it (known: {known})"
# Optional limits: None on the common row means "no limit".
OPTIONAL_FIELDS = {
    "account",
    "max_order_quantity",
    "max_order_notional",
    "allowed_symbols",
    "daily_loss_limit",
    "max_gross_exposure",
}


def parse_symbol_list(raw: str | None) -> list[str] | None:
    """'SPY, qqq EUR.USD' -> ['SPY', 'QQQ', 'EUR.USD']; '' or None -> None (any symbol)."""
    if raw is None or not raw.strip():
        return None
    return [item.upper() for item in re.split(r"[\s,]+", raw.strip()) if item]


def validate_symbol_list(raw: str) -> None:
    bad = [s for s in parse_symbol_list(raw) or [] if not SYMBOL_RE.match(s)]
    if bad:
        raise ValidationError(
            "Not a symbol: %(bad)s (symbols are letters, digits and dots, separated by commas or spaces)",
            params={"bad": ", ".join(bad)},
            code="invalid_symbol",
        )


BAD_TIME_ZONE = "%(value)s is not an IANA time zone: use a name like America/New_York, Europe/London or UTC."


def validate_time_zone(value: str) -> None:
    """An IANA zone name zoneinfo can load ("America/New_York", "UTC"); "New York" or "" are refused."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(BAD_TIME_ZONE, params={"value": repr(value)}, code="invalid_time_zone") from None
    if not value:
        raise ValidationError(BAD_TIME_ZONE, params={"value": repr(value)}, code="invalid_time_zone")


class TradingConfig(models.Model):
    """One row per scope, and one per account for scope `account`. Read through
    `trading.config.effective_config()`, never cached."""

    scope = models.CharField(max_length=10, choices=ConfigScope.choices)
    active_mode = models.CharField(
        max_length=10,
        choices=TradingMode.choices,
        null=True,
        blank=True,
        help_text="Common scope only: which mode the console trades in.",
    )
    display_time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        validators=[validate_time_zone],
        help_text="Common scope only: the IANA time zone (e.g. America/New_York) every page shows times in and"
        " cuts calendar days by; blank: the DISPLAY_TIME_ZONE environment variable. Times are stored in UTC.",
    )
    trading_enabled = models.BooleanField(
        null=True,
        blank=True,
        help_text="Yes: orders may be sent. No: the kill switch is engaged and every new order is refused"
        " (close_all and cancels still run). On a mode row, blank leaves it to the common row;"
        " a No on either row stops trading.",
    )
    soft_stop = models.BooleanField(
        null=True,
        blank=True,
        help_text="Yes: reduce-only, orders that would increase a position's absolute size are refused. No: orders"
        " may open and grow positions. On a mode row, blank leaves it to the common row; a Yes on either row holds.",
    )
    market_data_type = models.PositiveSmallIntegerField(choices=MarketDataType.choices, null=True, blank=True)
    account = models.CharField(
        max_length=32,
        blank=True,
        null=True,
        help_text="Common and mode rows: the IB account id to trade (blank: the first managed account)."
        " Account rows: the account the row is for.",
    )
    overall_exposure = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=UNIT,
        help_text="Share of net liquidation strategies may deploy, 0..1.",
    )
    default_order_type = models.CharField(max_length=3, choices=DEFAULT_ORDER_TYPES, null=True, blank=True)
    default_tif = models.CharField(max_length=3, choices=DEFAULT_TIFS, null=True, blank=True)
    limit_offset_bps = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))],
        help_text="Default limit orders are priced at the quote's midpoint plus (BUY) or minus (SELL) this many"
        " basis points; with no quote the order is refused.",
    )
    max_order_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Blank: no limit.")
    max_order_notional = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE)
    allowed_symbols = models.TextField(
        null=True,
        blank=True,
        validators=[validate_symbol_list],
        help_text="Comma- or space-separated symbols; blank: any symbol.",
    )
    daily_loss_limit = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text="risk_check engages the kill switch (sets trading enabled to No) when today's loss exceeds this"
        " (account currency); blank: no limit.",
    )
    max_gross_exposure = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text="risk_check engages the kill switch (sets trading enabled to No) when gross position value exceeds this;"
        " blank: no limit.",
    )
    cash_balancer_threshold = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text="cash_balancer converts non-base cash above this value (in base currency).",
    )
    enforce_flat_eod = models.BooleanField(
        null=True, blank=True, help_text="Yes: eod_check flattens every position at the end of the day. No: positions are kept."
    )
    flatten_unowned_positions = models.BooleanField(
        null=True, blank=True, help_text="Yes: allocation flattens positions no strategy targets. No: it leaves them alone."
    )
    what_if_check = models.BooleanField(
        null=True, blank=True, help_text="Yes: ask IB's what-if margin check before each order. No: send without it."
    )
    dry_run_default = models.BooleanField(
        null=True,
        blank=True,
        help_text="Yes: a run submitted without saying dry run or not is a dry run (nothing sent to IB). No: it sends orders.",
    )
    cancel_foreign_orders = models.BooleanField(
        null=True,
        blank=True,
        help_text="Yes: close_all also cancels other API clients' and TWS's orders with IB's global cancel."
        " No: it cancels only the console's own orders.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "trading settings"
        verbose_name_plural = "trading settings"
        ordering = ["scope", "account"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope"], condition=~models.Q(scope="account"), name="trading_config_one_row_per_scope"
            ),
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(scope="account"), name="trading_config_one_row_per_account"
            ),
        ]

    def __str__(self) -> str:
        if self.scope == ConfigScope.ACCOUNT:
            return f"Account {self.account}"
        return self.get_scope_display()

    @property
    def label(self) -> str:
        """How switches and messages name the row: `common`, `paper`, `live` or `account DU2`."""
        return f"account {self.account}" if self.scope == ConfigScope.ACCOUNT else self.scope

    def clean(self) -> None:
        errors = {}
        if self.scope not in ConfigScope.values:
            errors["scope"] = f"Unknown scope {self.scope!r}: use one of {', '.join(ConfigScope.values)}."
        if self.scope == ConfigScope.COMMON:
            if not self.active_mode:
                errors["active_mode"] = "The common settings must name the active mode."
            for name in OVERRIDABLE_FIELDS:
                if name not in OPTIONAL_FIELDS and getattr(self, name) is None:
                    errors[name] = "The common settings must set this value (modes may override it)."
        else:
            if self.active_mode:
                errors["active_mode"] = "Only the common settings choose the active mode."
            if self.display_time_zone:
                errors["display_time_zone"] = "Only the common settings choose the display time zone."
        if self.scope == ConfigScope.ACCOUNT:
            if not self.account:
                errors["account"] = ACCOUNT_KEY_MISSING
            elif self.pk is None and self.account not in known_accounts():
                # New rows only: a row whose connection went away still holds, and may still be released.
                errors["account"] = UNKNOWN_ACCOUNT.format(account=self.account, known=", ".join(known_accounts()) or "none")
            elif TradingConfig.objects.filter(scope=ConfigScope.ACCOUNT, account=self.account).exclude(pk=self.pk).exists():
                # Checked here too: a form without the scope field skips the conditional unique constraint.
                errors["account"] = ACCOUNT_ROW_EXISTS.format(account=self.account)
            for name in OVERRIDABLE_FIELDS:
                if name not in ACCOUNT_FIELDS and name != "account" and getattr(self, name) is not None:
                    errors[name] = ACCOUNT_ONLY_SWITCHES_AND_LIMITS
        if errors:
            raise ValidationError(errors)


def known_accounts() -> list[str]:
    """The accounts an account row may name: those the IB connections list, and IB_ACCOUNT."""
    from trading.models.connections import IBConnection

    accounts = {settings.IB_ACCOUNT} if settings.IB_ACCOUNT else set()
    for listed in IBConnection.objects.values_list("accounts", flat=True):
        accounts.update(str(account) for account in listed or [])
    return sorted(accounts)


class Strategy(models.Model):
    """A strategy the allocator sums targets from (`strategies/{id}` in the seed)."""

    strategy_id = models.SlugField(max_length=64, unique=True)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=False)
    exposure = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("1"),
        validators=UNIT,
        help_text="Share of the overall exposure given to this strategy, 0..1.",
    )
    params = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "strategies"
        ordering = ["strategy_id"]

    def __str__(self) -> str:
        return self.strategy_id

    def clean(self) -> None:
        if not isinstance(self.params, dict):
            raise ValidationError({"params": "Strategy parameters must be a JSON object."})
