"""`close_all`: cancel open orders (waiting for IB to confirm), then flatten positions; it always
flattens what it can (trading/intents/flatten.py has the rules).

Allowed while the kill switch is on: it only reduces risk. Its closing orders are exempt from the
quantity, notional and symbol limits. Another client's working order is reported, never waited on,
and ends the run `partial` (IB's global cancel first when `cancel_foreign_orders` is on). With `strategies`, only the positions those
strategies hold are closed (their recorded holdings), and only their orders are cancelled. Closing
orders are market orders whatever the settings' default order type, unless the caller asks for
`order_type: "LMT"`. The flattening itself is shared with eod_check (trading/intents/flatten.py).
"""

from typing import Literal

from pydantic import Field

from trading.intents.base import Intent, IntentParams
from trading.intents.flatten import flatten
from trading.intents.registry import intent_register
from trading.intents.strategy import strategies_unknown

__all__ = ["CloseAll", "strategies_unknown"]


@intent_register
class CloseAll(Intent):
    name = "close_all"
    description = "Cancel open orders, then flatten every position (or only the given strategies' holdings)."
    allowed_when_killed = True
    places_orders = True
    timeout = 120.0

    class Params(IntentParams):
        strategies: list[str] | None = None
        order_type: Literal["MKT", "LMT"] | None = Field(
            None,  # MKT; left out of the stored parameters unless the caller asks
            alias="orderType",
            description="MKT (default: getting out comes first) or LMT at the midpoint ± limit_offset_bps; "
            "an LMT close that does not fill in time ends the run partial.",
        )

    @classmethod
    def check(cls, params) -> list[dict]:
        return strategies_unknown(params.strategies)

    async def run(self, ctx, params):
        return await flatten(
            ctx,
            owner="close_all",
            strategies=params.strategies,
            fill_wait=self.timeout / 2,
            order_type=params.order_type or "MKT",
        )
