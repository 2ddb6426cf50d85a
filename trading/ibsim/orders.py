"""Order and execution records, and the rules for when and at what price an order trades.

Supported order types are MKT, LMT, STP, STP LMT, TRAIL, TRAIL LIMIT, MOC and LOC, and the time in
force OPG (anything else is IB error 387). Liquidity is unlimited at the touch: a marketable order
fills completely at the quote unless partial fills are configured, in which case it fills in N
slices, one every ``slice_interval`` seconds.

- MKT buys at the ask and sells at the bid.
- LMT buys when the ask is at or below the limit (at the ask) and sells when the bid is at or
  above it (at the bid), checked on placement and on every price change.
- STP and STP LMT wait in PreSubmitted (as IB holds them) until the trigger price - the last trade
  for stocks, the midpoint for FX - reaches the stop; then they work as MKT or LMT.
- TRAIL and TRAIL LIMIT are stops that follow the best trigger price seen since they started
  working (the anchor: a high-water mark for a sell, a low-water mark for a buy) at a distance of
  ``auxPrice`` or ``trailingPercent`` of the anchor, and never move back. ``trailStopPrice``, when
  given, is the initial stop. A TRAIL LIMIT's limit stays ``lmtPriceOffset`` beyond its stop.
- MOC and LOC, and MKT or LMT with time in force OPG, are auction orders: they never trade on a
  tick, only in the closing or opening auction (see :mod:`trading.ibsim.auctions`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from trading.ibsim.contracts import Instrument
from trading.ibsim.market import Quote, round_to_tick

SUPPORTED_ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT", "TRAIL", "TRAIL LIMIT", "MOC", "LOC")
LIMIT_TYPES = ("LMT", "STP LMT", "TRAIL LIMIT", "LOC")
STOP_TYPES = ("STP", "STP LMT", "TRAIL", "TRAIL LIMIT")
TRAILING_TYPES = ("TRAIL", "TRAIL LIMIT")
CLOSE_AUCTION_TYPES = ("MOC", "LOC")
OPEN_AUCTION_TYPES = ("MKT", "LMT")  # the order types IB takes with time in force OPG


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
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    lmt_price_offset: float | None = None
    misc_options: dict[str, str] = field(default_factory=dict)
    exchange: str = ""  # the contract's exchange as sent: IB refuses an order without one
    e_trade_only: bool = False
    firm_quote_only: bool = False


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
    trail_stop_price: float | None = None
    trailing_percent: float | None = None
    lmt_price_offset: float | None = None
    trail_anchor: float | None = None  # best trigger price since a trailing order started working
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
        return self.order_type in STOP_TYPES

    @property
    def is_trailing(self) -> bool:
        return self.order_type in TRAILING_TYPES

    @property
    def auction(self) -> str:
        """Which auction the order waits for: "close" (MOC/LOC), "open" (tif OPG), or ""."""
        if self.order_type in CLOSE_AUCTION_TYPES:
            return "close"
        return "open" if self.tif == "OPG" else ""


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


def stop_price(order: OrderRecord) -> float:
    """The price a stop triggers at: ``auxPrice`` for STP, the current trail stop for TRAIL."""
    stop = order.trail_stop_price if order.is_trailing else order.aux_price
    return stop if stop is not None else math.nan


def is_triggered(order: OrderRecord, inst: Instrument, quote: Quote) -> bool:
    """Whether a stop order's trigger has been reached (always True for non-stop orders)."""
    if not order.is_stop or order.triggered:
        return True
    price = trigger_price(inst, quote)
    stop = stop_price(order)
    return price >= stop if order.sign > 0 else price <= stop


def trail(order: OrderRecord, inst: Instrument, quote: Quote) -> bool:
    """Move a trailing order's anchor and stop with the trigger price; True when the stop moved.

    A sell's stop only rises and a buy's only falls: the holder's protection never loosens. A
    given ``trailStopPrice`` is the first stop; it is tightened only once the price makes a new best.
    """
    price = trigger_price(inst, quote)
    sign = order.sign
    first = order.trail_anchor is None
    if not first and (price - order.trail_anchor) * sign >= 0:
        return False  # no new best price (a sell's best is a high, a buy's a low)
    order.trail_anchor = price
    if first and order.trail_stop_price is not None:
        set_trail_stop(order, inst, order.trail_stop_price)
        return True
    if order.trailing_percent is not None:
        distance = price * order.trailing_percent / 100.0
    else:
        distance = order.aux_price or 0.0
    candidate = round_to_tick(price + sign * distance, inst.min_tick)
    current = order.trail_stop_price
    if current is not None and (candidate - current) * sign >= 0:
        return False
    set_trail_stop(order, inst, candidate)
    return True


def set_trail_stop(order: OrderRecord, inst: Instrument, stop: float) -> None:
    order.trail_stop_price = stop
    if order.order_type == "TRAIL LIMIT":
        offset = order.lmt_price_offset or 0.0
        order.lmt_price = round_to_tick(stop + order.sign * offset, inst.min_tick)


def execution_price(order: OrderRecord, quote: Quote) -> float | None:
    """The price the order trades at now, or None if it cannot trade (stops must be triggered first)."""
    touch = quote.ask if order.sign > 0 else quote.bid
    if order.order_type in ("MKT", "STP", "TRAIL"):
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


def api_refusal(request: OrderRequest) -> tuple[int, str] | None:
    """What IB's API layer refuses before it looks the contract up: no exchange on the contract (so
    ``Stock('XXX')`` is 321, not 200), and the order attributes IB no longer supports, which the
    official ``ibapi`` clients before 10.x set by default (ib_insync and ib_async send them unset)."""
    if request.e_trade_only:
        return 10268, "The 'EtradeOnly' order attribute is not supported."
    if request.firm_quote_only:
        return 10269, "The 'firmQuoteOnly' order attribute is not supported."
    if not request.exchange.strip():
        return 321, "Error validating request.-'bN' : cause - Missing order exchange"
    return None


def validate_request(request: OrderRequest) -> tuple[int, str] | None:
    """IB's refusals for a malformed order, as (error code, message), or None when acceptable."""
    if request.order_type not in SUPPORTED_ORDER_TYPES:
        return 387, "Unsupported order type for this exchange and security type."
    if request.action not in (Side.BUY, Side.SELL):
        return 201, f"Order rejected - reason:Invalid action {request.action!r}"
    if not request.total_quantity or request.total_quantity <= 0:
        return 201, "Order rejected - reason:The order size must be positive"
    if request.order_type in ("LMT", "STP LMT", "LOC") and request.lmt_price is None:
        return 201, "Order rejected - reason:The limit price is missing"
    if request.order_type in ("STP", "STP LMT") and request.aux_price is None:
        return 201, "Order rejected - reason:The stop price is missing"
    if request.order_type in TRAILING_TYPES:
        refusal = _trailing_refusal(request)
        if refusal is not None:
            return refusal
    if request.tif == "OPG" and request.order_type not in OPEN_AUCTION_TYPES:
        return 201, f"Order rejected - reason:Invalid time in force OPG for order type {request.order_type}"
    if request.order_type in CLOSE_AUCTION_TYPES and request.tif not in ("", "DAY"):
        return 201, f"Order rejected - reason:Invalid time in force {request.tif} for {request.order_type}"
    if request.has_conditions:
        return 201, "Order rejected - reason:Order conditions are not supported by the paper gateway"
    return None


def _trailing_refusal(request: OrderRequest) -> tuple[int, str] | None:
    amount, percent = request.aux_price, request.trailing_percent
    if amount is None and percent is None:
        return 201, "Order rejected - reason:Trailing amount or trailing percent must be specified"
    if amount is not None and percent is not None:
        return 201, "Order rejected - reason:Specify either a trailing amount or a trailing percent, not both"
    if (amount is not None and amount <= 0) or (percent is not None and not 0 < percent < 100):
        return 201, "Order rejected - reason:The trailing amount or percent must be positive"
    if request.order_type == "TRAIL LIMIT" and request.lmt_price_offset is None:
        return 201, "Order rejected - reason:The limit price offset is missing"
    return None


def validate_for_instrument(request: OrderRequest, inst: Instrument) -> tuple[int, str] | None:
    """Refusals that depend on the instrument: indexes do not trade, FX (IDEALPRO) has no auctions."""
    if not inst.is_tradable:
        return 201, f"Order rejected - reason:{inst.symbol} is an index and cannot be traded"
    if inst.is_fx and (request.order_type in CLOSE_AUCTION_TYPES or request.tif == "OPG"):
        return 387, "Unsupported order type for this exchange and security type."
    return None
