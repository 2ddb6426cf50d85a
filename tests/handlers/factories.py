"""Small builders for real ib_insync objects (no gateway needed to emit events with them)."""

import datetime as dt
import textwrap
from pathlib import Path

from ib_insync import CommissionReport, Execution, Fill, MarketOrder, OrderStatus, Stock, Trade

from trading.handlers import HandlerSet, collecting


def make_trade(
    order_id: int = 1, symbol: str = "AAPL", action: str = "BUY", status: str = "Submitted"
) -> Trade:
    order = MarketOrder(action, 10)
    order.orderId = order_id
    return Trade(
        contract=Stock(symbol, "SMART", "USD"),
        order=order,
        orderStatus=OrderStatus(orderId=order_id, status=status, remaining=10),
    )


def make_fill(
    exec_id: str = "e1", symbol: str = "AAPL", side: str = "BOT", shares: float = 10, price: float = 100.0
):
    execution = Execution(execId=exec_id, side=side, shares=shares, price=price)
    return Fill(
        Stock(symbol, "SMART", "USD"), execution, CommissionReport(execId=exec_id), dt.datetime.now(dt.UTC)
    )


def write_file(root: Path, relative: str, source: str = "") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def status_handler(tag: str, event: str = "orderStatus") -> str:
    """Source of a handler file that records ``(tag, orderId)`` on ``ib.probe``."""
    return textwrap.dedent(f"""
        from trading.handlers import IBEventRegistry

        @IBEventRegistry.collect({event!r})
        def on_status(ib, trade):
            ib.probe.append(({tag!r}, trade.order.orderId))
    """)


def collected(define) -> HandlerSet:
    """Run ``define()`` (which decorates handlers) inside a fresh collector and return the set."""
    with collecting() as collector:
        define()
    assert not collector.errors, collector.errors
    return HandlerSet(handlers=tuple(collector.handlers))


class FakeClock:
    """A clock the handlers under test advance, so durations are exact."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
