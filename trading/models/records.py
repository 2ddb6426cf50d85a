"""IB's state as recorded by the worker: orders, fills, positions, holdings, account values, snapshots."""

from django.db import models
from django.db.models import Q

from trading.models.connections import DEFAULT_CONNECTION


def connection_field() -> models.CharField:
    """The IB connection whose worker recorded the row (its gateway's ids are only unique there)."""
    return models.CharField(
        max_length=40, default=DEFAULT_CONNECTION, db_index=True, help_text="The IB connection whose worker recorded it."
    )


class OrderAction(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderStatus(models.TextChoices):
    """IB's order statuses, plus the console's own for orders that never reached IB."""

    PLANNED = "Planned", "Planned (dry run)"
    REFUSED = "Refused", "Refused by the order gateway"
    PENDING_SUBMIT = "PendingSubmit", "Pending submit"
    API_PENDING = "ApiPending", "API pending"
    PRE_SUBMITTED = "PreSubmitted", "Pre-submitted"
    SUBMITTED = "Submitted", "Submitted"
    PENDING_CANCEL = "PendingCancel", "Pending cancel"
    API_CANCELLED = "ApiCancelled", "API cancelled"
    CANCELLED = "Cancelled", "Cancelled"
    FILLED = "Filled", "Filled"
    INACTIVE = "Inactive", "Inactive"
    NOT_SENT = "NotSent", "Not sent (sending failed)"
    UNKNOWN_TO_IB = "UnknownToIB", "Closed: IB does not know it"

    @classmethod
    def open_values(cls) -> list[str]:
        return [cls.PENDING_SUBMIT, cls.API_PENDING, cls.PRE_SUBMITTED, cls.SUBMITTED, cls.PENDING_CANCEL]

    @classmethod
    def done_values(cls) -> list[str]:
        return [
            cls.CANCELLED, cls.API_CANCELLED, cls.FILLED, cls.INACTIVE, cls.PLANNED, cls.REFUSED, cls.NOT_SENT,
            cls.UNKNOWN_TO_IB,
        ]  # fmt: skip


class ContractFields(models.Model):
    """The contract columns every record carries (denormalised: records outlive contract changes)."""

    con_id = models.BigIntegerField(default=0, db_index=True)
    symbol = models.CharField(max_length=32, db_index=True)
    sec_type = models.CharField(max_length=8, default="STK")
    exchange = models.CharField(max_length=16, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    local_symbol = models.CharField(max_length=32, blank=True)

    class Meta:
        abstract = True


class Order(ContractFields):
    """A live mirror of one IB order (the seed's `openOrders`), or a planned/refused one that never left."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True)
    client_id = models.IntegerField(default=0)
    order_id = models.IntegerField(default=0)
    perm_id = models.BigIntegerField(default=0, db_index=True)
    order_ref = models.CharField(max_length=100, blank=True, db_index=True)
    run = models.ForeignKey("trading.IntentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    strategy = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=4, choices=OrderAction.choices)
    total_quantity = models.DecimalField(max_digits=18, decimal_places=4)
    order_type = models.CharField(max_length=12, default="MKT")
    lmt_price = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    aux_price = models.DecimalField(
        max_digits=18, decimal_places=6, null=True, blank=True, help_text="Stop price (STP, STP LMT) or trail amount (TRAIL)."
    )
    trail_percent = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    tif = models.CharField(max_length=8, blank=True)
    outside_rth = models.BooleanField(default=False)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children", help_text="A bracket's entry order."
    )
    oca_group = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, db_index=True)
    filled = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    remaining = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    avg_fill_price = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    last_error = models.CharField(max_length=500, blank=True)
    dry_run = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # IB's ids are a gateway's: two gateways may each have a client 1 and hand out the same ids. The
            # mode stays in the key: the default connection follows TRADING_MODE, a paper gateway one day and
            # a live one the next.
            models.UniqueConstraint(
                fields=["mode", "connection", "perm_id"], condition=Q(perm_id__gt=0), name="order_connection_perm_id_unique"
            ),
            models.UniqueConstraint(
                fields=["mode", "connection", "client_id", "order_id"],
                condition=Q(order_id__gt=0),
                name="order_connection_client_order_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.total_quantity:g} {self.symbol} {self.order_type} [{self.status}]"


class Fill(ContractFields):
    """One execution, stored exactly once (IB's execId is unique), with its commission report."""

    exec_id = models.CharField(max_length=64, unique=True)
    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="fills")
    ib_order_id = models.IntegerField(default=0, help_text="IB's orderId (the `order` link is ours).")
    client_id = models.IntegerField(default=0)
    perm_id = models.BigIntegerField(default=0)
    order_ref = models.CharField(max_length=100, blank=True)
    run = models.ForeignKey("trading.IntentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="fills")
    strategy = models.CharField(max_length=64, blank=True, db_index=True)
    side = models.CharField(max_length=4, choices=OrderAction.choices)
    shares = models.DecimalField(max_digits=18, decimal_places=4)
    price = models.DecimalField(max_digits=18, decimal_places=6)
    executed_at = models.DateTimeField(db_index=True)
    commission = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    commission_currency = models.CharField(max_length=3, blank=True)
    realized_pnl = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-executed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.side} {self.shares:g} {self.symbol} @ {self.price:g}"


class Position(ContractFields):
    """The latest position per account and contract, as IB reports it (position/portfolio events)."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    avg_cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    market_price = models.DecimalField(max_digits=18, decimal_places=6, null=True, blank=True)
    market_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    unrealized_pnl = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    realized_pnl = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["mode", "connection", "account", "con_id"], name="position_connection_unique")
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.quantity:g}"


class Holding(ContractFields):
    """What one strategy holds in one account (`positions/{mode}/holdings/{strategy}`), from fills attributed by orderRef."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True, db_index=True)
    strategy = models.CharField(max_length=64, db_index=True)
    quantity = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    avg_cost = models.DecimalField(max_digits=18, decimal_places=6, default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["strategy", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["mode", "connection", "account", "strategy", "con_id"], name="holding_connection_account_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.strategy}: {self.symbol} {self.quantity:g}"


class AccountValue(models.Model):
    """The latest value of one account tag (NetLiquidation, CashBalance per currency, …)."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32)
    tag = models.CharField(max_length=64)
    currency = models.CharField(max_length=8, blank=True)
    value = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "tag", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["mode", "connection", "account", "tag", "currency"], name="account_value_connection_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tag} {self.currency} = {self.value}"


class PositionSnapshot(models.Model):
    """Every position at one moment (`positions/{mode}/holdings/all_positions`)."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True)
    source = models.CharField(max_length=32, help_text="What took it: reconnect, trade_reconciliation, …")
    positions = models.JSONField(default=list)
    run = models.ForeignKey("trading.IntentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-taken_at", "-id"]


class PortfolioSnapshot(models.Model):
    """Net liquidation, funds, holdings and open orders at one moment (the seed's latest_portfolio)."""

    mode = models.CharField(max_length=10, db_index=True)
    connection = connection_field()
    account = models.CharField(max_length=32, blank=True)
    net_liquidation = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    available_funds = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    buying_power = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    holdings = models.JSONField(default=list)
    open_orders = models.JSONField(default=list)
    run = models.ForeignKey("trading.IntentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-taken_at", "-id"]
