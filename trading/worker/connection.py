"""How the worker talks about its IB connection: backoff, IB's system codes, states."""

from __future__ import annotations

import random
from dataclasses import dataclass

# IB system messages the worker acts on (TWS API "Message Codes").
LOST = 1100  # connectivity between TWS/Gateway and IB's servers lost
RESTORED_DATA_LOST = 1101  # restored, market data subscriptions lost: resubscribe
RESTORED = 1102  # restored, data maintained
CLIENT_ID_IN_USE = 326  # another session holds our client id (often a gateway mid-restart)
FARM_DOWN = {2103, 2105, 2157}  # market data / HMDS / sec-def farm broken
FARM_UP = {2104, 2106, 2158}  # farm connection OK (sent at every connect)
FARM_INACTIVE = {2107, 2108}  # farm inactive but available on demand
ORDER_CANCELLED = 202  # the normal confirmation of a cancel: the order status says it already
INFO_CODES = FARM_UP | FARM_INACTIVE | {2119, 2100, 2150, 2109, ORDER_CANCELLED}


class State:
    STARTING = "starting"
    CONNECTING = "connecting"
    SYNCING = "syncing"
    CONNECTED = "connected"
    IB_LINK_DOWN = "ib_link_down"  # socket to the gateway up, gateway cut off from IB
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter, so many clients never retry in lockstep."""

    first: float = 1.0
    cap: float = 30.0
    factor: float = 2.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * self.factor**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0
