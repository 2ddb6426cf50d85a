"""Order and execution records, and the rules for when and at what price an order trades.

Supported order types are MKT, LMT, STP and STP LMT (anything else is IB error 387). Liquidity is
unlimited at the touch: a marketable order fills completely at the quote unless partial fills are
configured, in which case it fills in N slices, one every ``slice_interval`` seconds.

- MKT buys at the ask and sells at the bid.
- LMT buys when the ask is at or below the limit (at the ask) and sells when the bid is at or
  above it (at the bid), checked on placement and on every price change.
- STP and STP LMT wait in PreSubmitted (as IB holds them) until the trigger price - the last trade
  for stocks, the midpoint for FX - reaches the stop; then they work as MKT or LMT.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from trading.ibsim.contracts import Instrument
from trading.ibsim.market import Quote

SUPPORTED_ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")


class OrderStatus:
    """IB's order status names."""

    PENDING_SUBMIT = "PendingSubmit"
    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    INACTIVE = "Inactive"

    ACTIVE = frozenset({PENDING_SUBMIT, PRE_SUBMITTED, SUBMITTED})


class Side:
    """Order actions and the execution sides IB reports for them."""

    BUY = "BUY"
    SELL = "SELL"
    BOUGHT = "BOT"
    SOLD = "SLD"


@dataclass
class OrderRequest:
    """The fields of a placeOrder message that the simulator uses."""

    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = ""
    account: str = ""
    order_ref: str = ""
    outside_rth: bool = False
    transmit: bool = True
    parent_id: int = 0
    oca_group: str = ""
    oca_type: int = 0
    good_till_date: str = ""
    good_after_time: str = ""
    open_close: str = ""
    origin: int = 0
    trigger_method: int = 0
    model_code: str = ""
    what_if: bool = False
    has_conditions: bool = False
    misc_options: dict[str, str] = field(default_factory=dict)


@dataclass
class OrderRecord:
    """One order as the gateway keeps it; ``client_id``/``order_id`` are 0 for manual TWS orders."""

    client_id: int
    order_id: int
    perm_id: int
    con_id: int
    exchange: str
    action: str
    total_quantity: float
    order_type: str
    lmt_price: float | None = None
    aux_price: float | None = None
    tif: str = "DAY"
    account: str = ""
    order_ref: str = ""
    outside_rth: bool = False
    transmit: bool = True
    parent_id: int = 0
    oca_group: str = ""
    oca_type: int = 0
    good_till_date: str = ""
    good_after_time: str = ""
    open_close: str = ""
    origin: int = 0
    trigger_method: int = 0
    model_code: str = ""
    status: str = OrderStatus.PENDING_SUBMIT
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    why_held: str = ""
    triggered: bool = False
    rested: bool = False
    slices: int = 1
    commission: float = 0.0
    manual: bool = False
    created_at: float = field(default_factory=time.time)
    completed_at: float | None = None
    completed_status: str = ""

    @property
    def remaining(self) -> float:
        return max(self.total_quantity - self.filled, 0.0)

    @property
    def is_active(self) -> bool:
        return self.status in OrderStatus.ACTIVE

    @property
    def sign(self) -> int:
        return 1 if self.action == Side.BUY else -1

    @property
    def is_stop(self) -> bool:
        return self.order_type in ("STP", "STP LMT")


@dataclass
class ExecutionRecord:
    """One fill, with the commission report IB sends after it."""

    exec_id: str
    time: float
    client_id: int
    order_id: int
    perm_id: int
    con_id: int
    exchange: str
    venue: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str
    account: str
    commission: float
    realized_pnl: float | None
    liquidity: int
    model_code: str = ""


def trigger_price(inst: Instrument, quote: Quote) -> float:
    """The price a stop watches: last trade for stocks, midpoint for FX (IB's defaults)."""
    return quote.price if quote.last is None else quote.last


def is_triggered(order: OrderRecord, inst: Instrument, quote: Quote) -> bool:
    """Whether a stop order's trigger has been reached (always True for non-stop orders)."""
    if not order.is_stop or order.triggered:
        return True
    price = trigger_price(inst, quote)
    stop = order.aux_price if order.aux_price is not None else math.nan
    return price >= stop if order.sign > 0 else price <= stop


def execution_price(order: OrderRecord, quote: Quote) -> float | None:
    """The price the order trades at now, or None if it cannot trade (stops must be triggered first)."""
    touch = quote.ask if order.sign > 0 else quote.bid
    if order.order_type in ("MKT", "STP"):
        return touch
    limit = order.lmt_price
    if limit is None:
        return None
    if order.sign > 0:
        return touch if touch <= limit + 1e-12 else None
    return touch if touch >= limit - 1e-12 else None


def slice_quantity(order: OrderRecord, inst: Instrument) -> float:
    """How much the next fill takes: everything, or one of ``order.slices`` equal parts."""
    if order.slices <= 1:
        return order.remaining
    part = order.total_quantity / order.slices
    if not inst.is_fx:
        part = max(1.0, float(math.ceil(part)))
    return min(order.remaining, part)


def validate_request(request: OrderRequest) -> tuple[int, str] | None:
    """IB's refusals for a malformed order, as (error code, message), or None when acceptable."""
    if request.order_type not in SUPPORTED_ORDER_TYPES:
        return 387, "Unsupported order type for this exchange and security type."
    if request.action not in (Side.BUY, Side.SELL):
        return 201, f"Order rejected - reason:Invalid action {request.action!r}"
    if not request.total_quantity or request.total_quantity <= 0:
        return 201, "Order rejected - reason:The order size must be positive"
    if request.order_type in ("LMT", "STP LMT") and request.lmt_price is None:
        return 201, "Order rejected - reason:The limit price is missing"
    if request.order_type in ("STP", "STP LMT") and request.aux_price is None:
        return 201, "Order rejected - reason:The stop price is missing"
    if request.has_conditions:
        return 201, "Order rejected - reason:Order conditions are not supported by the paper gateway"
    return None
