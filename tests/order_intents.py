"""The order intents the REST, CLI and webhook tests submit to: the real ones when installed, else stand-ins.

`place_order` and `modify_order` (and `cancel_order` by row id) are built on another branch. Until it
is merged, `order_intents_install(monkeypatch)` puts a stand-in with the agreed parameter names in the
registry for one test (the real `cancel_order`, by IB order id, comes back afterwards). The stand-ins
never run: the tests play the worker (`run_finish_now`, Order rows). Once the real intents are
installed they are used as they are, and the tests marked `needs_real_order_intents` run too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import pytest
from pydantic import Field, model_validator

from trading.intents import Intent, IntentParams, registry

Number = Decimal  # numbers also arrive as strings ("10"), as TradingView sends them


class PlaceOrderStandIn(Intent):
    name = "place_order"
    description = "Test stand-in for the place_order intent (never runs)."
    places_orders = True

    class Params(IntentParams):
        symbol: str
        sec_type: Literal["STK", "CASH"] = Field("STK", alias="secType")
        exchange: str = "SMART"
        currency: str = "USD"
        action: Literal["BUY", "SELL", "buy", "sell"]
        quantity: Number | None = Field(None, gt=0)
        notional: Number | None = Field(None, gt=0)
        percent: Number | None = Field(None, gt=0, le=100)
        order_type: Literal["MKT", "LMT", "STP", "STP LMT", "TRAIL", "MOC", "LOC"] = Field("MKT", alias="orderType")
        limit_price: Number | None = Field(None, gt=0, alias="limitPrice")
        stop_price: Number | None = Field(None, gt=0, alias="stopPrice")
        trail_amount: Number | None = Field(None, gt=0, alias="trailAmount")
        trail_percent: Number | None = Field(None, gt=0, alias="trailPercent")
        tif: Literal["DAY", "GTC", "IOC", "OPG"] = "DAY"
        outside_rth: bool = Field(False, alias="outsideRth")
        take_profit: Number | None = Field(None, gt=0, alias="takeProfit")
        stop_loss: Number | None = Field(None, gt=0, alias="stopLoss")
        strategy: str = "manual"

        @model_validator(mode="after")
        def _one_size(self):
            if sum(value is not None for value in (self.quantity, self.notional, self.percent)) != 1:
                raise ValueError("give exactly one of quantity, notional, percent")
            return self


class ModifyOrderStandIn(Intent):
    name = "modify_order"
    description = "Test stand-in for the modify_order intent (never runs)."

    class Params(IntentParams):
        order: int = Field(gt=0)
        limit_price: Number | None = Field(None, gt=0, alias="limitPrice")
        stop_price: Number | None = Field(None, gt=0, alias="stopPrice")
        quantity: Number | None = Field(None, gt=0)


class CancelOrderStandIn(Intent):
    name = "cancel_order"
    description = "Test stand-in for cancel_order by row id (never runs)."
    allowed_when_killed = True

    class Params(IntentParams):
        order: int | None = Field(None, gt=0)
        order_id: int | None = Field(None, gt=0, alias="orderId")


def _real(name: str, param: str) -> bool:
    try:
        intent_cls = registry.intent_get(name)
    except registry.IntentNotFound:
        return False
    return param in intent_cls.Params.model_fields


def real_order_intents() -> bool:
    return _real("place_order", "take_profit") and _real("modify_order", "order") and _real("cancel_order", "order")


needs_real_order_intents = pytest.mark.skipif(
    not real_order_intents(), reason="needs the real place_order/modify_order intents (another branch)"
)


def order_intents_install(monkeypatch) -> None:
    """Stand-ins for whichever of the three is not installed with the agreed parameters (for one test)."""
    registry.intents_load()
    for stand_in, param in ((PlaceOrderStandIn, "take_profit"), (ModifyOrderStandIn, "order"), (CancelOrderStandIn, "order")):
        if not _real(stand_in.name, param):
            monkeypatch.setitem(registry._registry, stand_in.name, stand_in)
