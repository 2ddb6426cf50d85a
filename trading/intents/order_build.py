"""IB orders of every type the console sends, built in one place for the order gateway.

Only `OrderGateway` (trading/intents/orders.py) calls these: an intent describes the order it wants
(`OrderSpec`), the gateway builds, checks, records and sends it. Pure functions, no IB connection, so
the fields IB reads are unit-tested directly.

| type     | IB fields                                                    |
|----------|--------------------------------------------------------------|
| MKT      | —                                                            |
| LMT      | lmtPrice                                                     |
| STP      | auxPrice = stop price                                        |
| STP LMT  | auxPrice = stop price, lmtPrice                              |
| TRAIL    | auxPrice = trail amount, or trailingPercent; trailStopPrice = the first stop (optional) |
| MOC      | — (tif DAY)                                                  |
| LOC      | lmtPrice (tif DAY)                                           |

`tif` OPG turns MKT/LMT into market/limit-on-open. A bracket is IB's: the entry, then a take-profit
limit and a stop-loss stop on the other side, both children of the entry (`parentId`) and one OCA
group; the entry and the take-profit go with transmit=False and the stop-loss with transmit=True, so
IB activates nothing until the whole bracket has arrived.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trading.iblib import Order
from trading.models.config import OrderType, TimeInForce

NEEDS_LIMIT = (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.LIMIT_ON_CLOSE)
NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)
BRACKET_ENTRIES = (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT)
AT_THE_CLOSE = (OrderType.MARKET_ON_CLOSE, OrderType.LIMIT_ON_CLOSE)

# Problems with an order's description; (field, message). Constants so tests assert on them.
UNKNOWN_TYPE = "unknown order type {value!r}: use one of {choices}"
UNKNOWN_TIF = "unknown time in force {value!r}: use one of {choices}"
LIMIT_MISSING = "limit_price is required for {order_type} orders"
STOP_MISSING = "stop_price is required for {order_type} orders"
TRAIL_MISSING = "TRAIL orders need exactly one of trail_amount or trail_percent"
TRAIL_BOTH = "give trail_amount or trail_percent, not both"
PRICE_UNUSED = "{field} does not apply to {order_type} orders"
CLOSE_TIF = "{order_type} orders are DAY orders (IB executes them at today's close), not {tif}"
OPG_TYPE = "tif OPG (at the opening) applies to MKT and LMT orders, not {order_type}"
BRACKET_HALF = "a bracket needs both take_profit and stop_loss"
BRACKET_TYPE = "a bracket's entry must be one of {choices}, not {order_type}"
BRACKET_SIDES = "for a {action} bracket the take-profit ({take_profit:g}) must be {above} the stop-loss ({stop_loss:g})"
BRACKET_ENTRY = "for a {action} bracket the {field} ({value:g}) must be {side} the entry's limit price ({entry:g})"
NO_QUOTE = "no quote for {symbol} (bid/ask) to price a default limit order: not sent at market"


@dataclass(frozen=True)
class OrderSpec:
    """One order as an intent asks for it; prices in the contract's currency, quantity positive."""

    action: str
    quantity: float
    order_type: str = OrderType.MARKET
    limit_price: float | None = None
    stop_price: float | None = None
    trail_amount: float | None = None
    trail_percent: float | None = None
    tif: str = TimeInForce.DAY
    outside_rth: bool = False
    take_profit: float | None = None
    stop_loss: float | None = None

    @property
    def is_bracket(self) -> bool:
        return self.take_profit is not None or self.stop_loss is not None


def order_type_normalize(value: str) -> str:
    """'stp lmt', 'STP_LMT', 'stplmt' → 'STP LMT'; raise ValueError naming the choices otherwise."""
    text = " ".join(str(value).upper().replace("_", " ").split())
    if text == "STPLMT":
        text = OrderType.STOP_LIMIT
    if text not in OrderType.values:
        raise ValueError(UNKNOWN_TYPE.format(value=value, choices=", ".join(OrderType.values)))
    return text


def tif_normalize(value: str) -> str:
    text = str(value).strip().upper()
    if text not in TimeInForce.values:
        raise ValueError(UNKNOWN_TIF.format(value=value, choices=", ".join(TimeInForce.values)))
    return text


def spec_problems(spec: OrderSpec) -> list[tuple[str, str]]:
    """Every way the description is not an order IB would take, as (field, message); [] when it is."""
    kind, problems = spec.order_type, []
    if kind not in OrderType.values:
        return [("order_type", UNKNOWN_TYPE.format(value=kind, choices=", ".join(OrderType.values)))]
    if kind in NEEDS_LIMIT and spec.limit_price is None:
        problems.append(("limit_price", LIMIT_MISSING.format(order_type=kind)))
    if kind not in NEEDS_LIMIT and spec.limit_price is not None:
        problems.append(("limit_price", PRICE_UNUSED.format(field="limit_price", order_type=kind)))
    if kind in NEEDS_STOP and spec.stop_price is None:
        problems.append(("stop_price", STOP_MISSING.format(order_type=kind)))
    if kind not in (*NEEDS_STOP, OrderType.TRAIL) and spec.stop_price is not None:
        problems.append(("stop_price", PRICE_UNUSED.format(field="stop_price", order_type=kind)))
    trails = [name for name in ("trail_amount", "trail_percent") if getattr(spec, name) is not None]
    if kind == OrderType.TRAIL and len(trails) != 1:
        problems.append(("trail_amount", TRAIL_BOTH if trails else TRAIL_MISSING))
    if kind != OrderType.TRAIL:
        problems += [(name, PRICE_UNUSED.format(field=name, order_type=kind)) for name in trails]
    if kind in AT_THE_CLOSE and spec.tif != TimeInForce.DAY:
        problems.append(("tif", CLOSE_TIF.format(order_type=kind, tif=spec.tif)))
    if spec.tif == TimeInForce.OPG and kind not in (OrderType.MARKET, OrderType.LIMIT):
        problems.append(("tif", OPG_TYPE.format(order_type=kind)))
    if spec.is_bracket:
        problems += _bracket_problems(spec)
    return problems


def _bracket_problems(spec: OrderSpec) -> list[tuple[str, str]]:
    if spec.take_profit is None or spec.stop_loss is None:
        return [("take_profit" if spec.take_profit is None else "stop_loss", BRACKET_HALF)]
    if spec.order_type not in BRACKET_ENTRIES:
        return [("order_type", BRACKET_TYPE.format(choices=", ".join(BRACKET_ENTRIES), order_type=spec.order_type))]
    buy = spec.action == "BUY"
    if (spec.take_profit > spec.stop_loss) != buy or spec.take_profit == spec.stop_loss:
        above = "above" if buy else "below"
        message = BRACKET_SIDES.format(action=spec.action, take_profit=spec.take_profit, stop_loss=spec.stop_loss, above=above)
        return [("take_profit", message)]
    if spec.limit_price is None:
        return []
    problems = []
    if (spec.take_profit > spec.limit_price) != buy:
        side = "above" if buy else "below"
        problems.append(
            ("take_profit", BRACKET_ENTRY.format(action=spec.action, field="take-profit", value=spec.take_profit, side=side, entry=spec.limit_price))
        )  # fmt: skip
    if (spec.stop_loss < spec.limit_price) != buy:
        side = "below" if buy else "above"
        problems.append(
            ("stop_loss", BRACKET_ENTRY.format(action=spec.action, field="stop-loss", value=spec.stop_loss, side=side, entry=spec.limit_price))
        )  # fmt: skip
    return problems


def order_build(spec: OrderSpec) -> Order:
    """The ib_insync Order for a valid spec (callers check `spec_problems` first)."""
    order = Order(action=spec.action, totalQuantity=spec.quantity, orderType=str(spec.order_type), tif=str(spec.tif))
    if spec.limit_price is not None:
        order.lmtPrice = spec.limit_price
    if spec.order_type in NEEDS_STOP:
        order.auxPrice = spec.stop_price
    if spec.order_type == OrderType.TRAIL:
        if spec.trail_amount is not None:
            order.auxPrice = spec.trail_amount
        else:
            order.trailingPercent = spec.trail_percent
        if spec.stop_price is not None:
            order.trailStopPrice = spec.stop_price
    if spec.outside_rth:
        order.outsideRth = True
    return order


def bracket_children(spec: OrderSpec, parent: Order) -> list[Order]:
    """Take-profit (LMT) and stop-loss (STP) on the other side of `parent`, the entry. Transmit flags as
    IB's bracket: the entry and the take-profit wait (False); the stop-loss, sent last, releases all
    three (True). `bracket_link` ties them to the entry once it has its order id."""
    exit_action = "SELL" if spec.action == "BUY" else "BUY"
    tif = str(TimeInForce.GTC if spec.tif == TimeInForce.GTC else TimeInForce.DAY)
    common = {"action": exit_action, "totalQuantity": spec.quantity, "tif": tif, "ocaType": 1, "outsideRth": spec.outside_rth}
    take_profit = Order(orderType=str(OrderType.LIMIT), lmtPrice=spec.take_profit, transmit=False, **common)
    stop_loss = Order(orderType=str(OrderType.STOP), auxPrice=spec.stop_loss, transmit=True, **common)
    parent.transmit = False
    return [take_profit, stop_loss]


def bracket_link(parent: Order, children: list[Order]) -> None:
    """Children of the entry (`parentId`: IB holds them until it fills) and one OCA group (a fill of one
    cancels the other; ocaType 1 cancels with block, IB's overfill protection)."""
    for child in children:
        child.parentId = parent.orderId
        child.ocaGroup = f"ibc-bracket-{parent.orderId}"


def tick_size(contract, price: float) -> Decimal:
    """IB's minimum price increment, kept simple: stocks a cent (1/100 cent below $1), FX pairs 0.00005
    (0.005 when quoted in JPY)."""
    if contract.secType == "CASH":
        return Decimal("0.005") if contract.currency == "JPY" else Decimal("0.00005")
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


def limit_from_quote(contract, *, action: str, bid: float | None, ask: float | None, offset_bps: Decimal) -> float:
    """Midpoint plus (BUY) or minus (SELL) `offset_bps`, on IB's tick, rounded away from the midpoint so
    the offset is never less than asked. No usable bid and ask: ValueError (the order is refused)."""
    if not _usable(bid) or not _usable(ask):
        raise ValueError(NO_QUOTE.format(symbol=contract.symbol))
    mid = (Decimal(str(bid)) + Decimal(str(ask))) / 2
    offset = mid * Decimal(offset_bps) / Decimal(10_000)
    price = mid + offset if action == "BUY" else mid - offset
    tick = tick_size(contract, float(mid))
    rounding = ROUND_CEILING if action == "BUY" else ROUND_FLOOR
    return float((price / tick).to_integral_value(rounding=rounding) * tick)


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and value > 0
