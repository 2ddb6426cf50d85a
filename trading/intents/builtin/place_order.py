"""`place_order`: one order (or a bracket of three) by hand or by signal, through the one order gateway.

The parameters are what a trader, a ticket or a TradingView alert sends: snake_case names with
camelCase aliases, numbers also as strings, actions also lower-case, an empty string as "not given".
Size is exactly one of `quantity`, `notional` (cash, in the contract's currency) or `percent` (of net
liquidation); notional and percent are turned into whole shares (FX: whole units), rounded down, at
the quote's midpoint (the last price when there is no bid/ask), and the result says the quantity and
the price used. With no `order_type` the prices given choose it (limit → LMT, stop → STP, both →
STP LMT, a trail → TRAIL), else the settings' `default_order_type` (a default LMT is priced from the
quote by the gateway). Every check of the order (kill switch, soft stop, limits, duplicates, what-if,
orderRef, dry run) is the gateway's; this intent only describes the order and waits for IB to take it.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import AliasChoices, AliasGenerator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from trading.iblib import Contract
from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentError
from trading.intents.order_build import OrderSpec, order_type_normalize, spec_problems, tif_normalize
from trading.intents.registry import intent_register
from trading.intents.trade_wait import trades_wait
from trading.models.config import OrderType

SIZE_FORMS = ("quantity", "notional", "percent")
ONE_SIZE = "give exactly one of quantity, notional or percent"
NO_PRICE = "no quote or last price for {symbol} to turn {form} {value:g} into a quantity"
TOO_SMALL = "{form} {value:g} buys no whole {unit} of {symbol} at {price:g}"
NOT_TAKEN = "IB did not take order {order_id} ({symbol}): {error}"
UNANSWERED = "IB did not answer order {order_id} ({symbol}) within {seconds:.0f}s"
ACK_WAIT = 10.0
WORKING_OR_DONE = {"PreSubmitted", "Submitted", "Filled"}


def _either_case(name: str) -> AliasChoices:
    return AliasChoices(name, to_camel(name))


class OrderParams(IntentParams):
    """Base for order parameters: snake_case or camelCase in, snake_case stored; "" means not given."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, str_strip_whitespace=True,
        alias_generator=AliasGenerator(validation_alias=_either_case),
    )  # fmt: skip

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


@intent_register
class PlaceOrder(Intent):
    name = "place_order"
    description = "Place one order (MKT, LMT, STP, STP LMT, TRAIL, MOC, LOC; optionally a bracket) through the order gateway."
    places_orders = True
    timeout = 30.0

    class Params(OrderParams):
        symbol: str = Field(min_length=1, max_length=12, description="SPY, AAPL; for CASH: EUR (with currency) or EUR.USD")
        sec_type: Literal["STK", "CASH"] = "STK"
        exchange: str | None = Field(None, description="Default SMART (IDEALPRO for CASH).")
        currency: str = "USD"
        action: Literal["BUY", "SELL"]
        quantity: float | None = Field(None, gt=0)
        notional: float | None = Field(None, gt=0, description="Cash amount in the contract's currency.")
        percent: float | None = Field(None, gt=0, le=100, description="Percent of net liquidation, 0-100.")
        order_type: str | None = Field(None, description="MKT, LMT, STP, STP LMT, TRAIL, MOC, LOC.")
        limit_price: float | None = Field(None, gt=0)
        stop_price: float | None = Field(None, gt=0)
        trail_amount: float | None = Field(None, gt=0)
        trail_percent: float | None = Field(None, gt=0, lt=100)
        tif: str | None = Field(None, description="DAY, GTC, IOC, OPG; default: the settings' default_tif.")
        outside_rth: bool = False
        take_profit: float | None = Field(None, gt=0, description="With stop_loss: a bracket.")
        stop_loss: float | None = Field(None, gt=0, description="With take_profit: a bracket.")
        strategy: str = Field("manual", pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Owner in orderRef and holdings.")

        @field_validator("symbol", "sec_type", "currency", "action", "exchange", mode="before")
        @classmethod
        def _upper(cls, value):
            return value.strip().upper() if isinstance(value, str) else value

        @field_validator("order_type")
        @classmethod
        def _order_type(cls, value):
            return None if value is None else order_type_normalize(value)

        @field_validator("tif")
        @classmethod
        def _tif(cls, value):
            return None if value is None else tif_normalize(value)

    @classmethod
    def check(cls, params) -> list[dict]:
        """Cross-field rules, each error at the field it names (HTTP 422 before anything is queued)."""
        return [{"loc": [field], "msg": text, "type": "value_error"} for field, text in order_problems(params)]

    async def run(self, ctx, params):
        problems = order_problems(params)
        if problems:  # a run submitted around the submission path's checks
            raise IntentError("; ".join(f"{field}: {text}" for field, text in problems))
        contract = (await ctx.qualify(contract_of(params)))[0]
        quantity, price_used = await order_quantity(ctx, contract, params)
        placed = await ctx.orders.place(contract=contract, **order_terms(params, quantity))
        orders = list(ctx.orders.placed)
        if not ctx.dry_run:
            await wait_taken([p.trade for p in orders], contract.symbol)
        return {
            "symbol": contract.symbol, "action": params.action, "quantity": quantity, "price_used": price_used,
            "sizing": sizing_of(params),
            "order_type": placed.order_type, "limit_price": placed.limit_price, "strategy": params.strategy,
            "sent": not ctx.dry_run, "orders": [p.as_dict() for p in orders],
        }  # fmt: skip


def order_terms(params, quantity: float) -> dict:
    """The gateway's arguments for these parameters (`place`, and the order ticket's `preview`)."""
    return dict(
        action=params.action, quantity=quantity, order_type=order_type_of(params),
        limit_price=params.limit_price, stop_price=params.stop_price, trail_amount=params.trail_amount,
        trail_percent=params.trail_percent, tif=params.tif or "", outside_rth=params.outside_rth,
        take_profit=params.take_profit, stop_loss=params.stop_loss, owner=params.strategy,
    )  # fmt: skip


def sizing_of(params) -> str:
    """Which size form the parameters use: quantity, notional or percent."""
    return next(form for form in SIZE_FORMS if getattr(params, form) is not None)


def order_problems(params) -> list[tuple[str, str]]:
    sizes = [form for form in SIZE_FORMS if getattr(params, form) is not None]
    problems = [] if len(sizes) == 1 else [(sizes[1] if sizes else "quantity", ONE_SIZE)]
    spec = OrderSpec(
        action=params.action, quantity=params.quantity or 1, order_type=order_type_of(params) or OrderType.MARKET,
        limit_price=params.limit_price, stop_price=params.stop_price, trail_amount=params.trail_amount,
        trail_percent=params.trail_percent, tif=params.tif or "DAY", outside_rth=params.outside_rth,
        take_profit=params.take_profit, stop_loss=params.stop_loss,
    )  # fmt: skip
    return problems + spec_problems(spec)  # no type given: MKT stands for the default (a LMT default is priced later)


def order_type_of(params) -> str:
    """The type asked for, or the one the prices given imply; "" leaves it to the settings' default."""
    if params.order_type:
        return params.order_type
    if params.trail_amount is not None or params.trail_percent is not None:
        return OrderType.TRAIL
    if params.stop_price is not None:
        return OrderType.STOP_LIMIT if params.limit_price is not None else OrderType.STOP
    return OrderType.LIMIT if params.limit_price is not None else ""


def contract_of(params) -> Contract:
    if params.sec_type == "CASH":
        symbol, currency = params.symbol, params.currency
        if "." in symbol:
            symbol, currency = symbol.split(".", 1)
        elif len(symbol) == 6:
            symbol, currency = symbol[:3], symbol[3:]
        return Contract(secType="CASH", symbol=symbol, currency=currency, exchange=params.exchange or "IDEALPRO")
    return Contract(secType="STK", symbol=params.symbol, currency=params.currency, exchange=params.exchange or "SMART")


async def order_quantity(ctx, contract, params) -> tuple[float, float | None]:
    """The quantity to send and the price it was sized at (None when the quantity was given)."""
    if params.quantity is not None:
        return params.quantity, None
    form = "notional" if params.notional is not None else "percent"
    value = getattr(params, form)
    quote = await ctx.quote(contract)
    price = quote.midpoint or quote.last
    if price is None:
        raise IntentError(NO_PRICE.format(symbol=contract.symbol, form=form, value=value))
    cash = value if form == "notional" else (await account_snapshot(ctx)).require("NetLiquidation") * value / 100
    quantity = math.floor(cash / price)
    if quantity < 1:
        unit = "unit" if contract.secType == "CASH" else "share"
        raise IntentError(TOO_SMALL.format(form=form, value=value, unit=unit, symbol=contract.symbol, price=price))
    return float(quantity), price


async def wait_taken(trades, symbol: str, timeout: float = ACK_WAIT) -> None:
    """Wait on IB's status events (no fixed sleep) until IB has taken every order (working or filled),
    or raise with IB's own reason (e.g. 201, 387) when it refused one."""

    def taken(trade) -> bool:
        return trade.orderStatus.status in WORKING_OR_DONE or trade.isDone()

    unanswered = await trades_wait(trades, taken, timeout)
    for trade in trades:
        if trade.isDone() and trade.orderStatus.status not in WORKING_OR_DONE:
            errors = [f"{entry.errorCode}: {entry.message}" for entry in trade.log if entry.errorCode]
            error = errors[-1] if errors else trade.orderStatus.status
            raise IntentError(NOT_TAKEN.format(order_id=trade.order.orderId, symbol=symbol, error=error))
    if unanswered:
        raise IntentError(UNANSWERED.format(order_id=unanswered[0].order.orderId, symbol=symbol, seconds=timeout))
