"""Waiting on order status events: a status IB sends while the wait is being set up is not lost.

CI once saw close_all sit out its whole fill wait on an order that had filled: the Filled status
reached ib_insync on the loop turn between `wait_for(trade.statusEvent)` being called and its task
connecting a listener. These tests put the status exactly there.
"""

import asyncio

import pytest
from ib_insync import Order, OrderStatus, Trade

from trading.intents.builtin.place_order import wait_taken
from trading.intents.context import IntentError
from trading.intents.flatten import wait_quietly

LONG = 30.0  # the wait's own timeout; a lost event would hold the wait this long
PROMPT = 5.0  # a wait woken by its event returns long before this


def _trade(status: str = "Submitted", order_id: int = 1) -> Trade:
    return Trade(order=Order(orderId=order_id), orderStatus=OrderStatus(orderId=order_id, status=status))


def _status_soon(trade: Trade, status: str) -> None:
    """Emit `status` on the loop turn after the caller's next step: where the old wait lost it."""

    def emit() -> None:
        trade.orderStatus.status = status
        trade.statusEvent.emit(trade)

    asyncio.get_running_loop().call_soon(emit)


@pytest.mark.asyncio
async def test_a_fill_sent_while_the_wait_starts_ends_the_wait():
    trade = _trade()
    waiting = asyncio.ensure_future(wait_quietly([trade], LONG))
    _status_soon(trade, "Filled")  # queued after the waiting task's first step, before its inner wait's
    assert await asyncio.wait_for(waiting, PROMPT) == []


@pytest.mark.asyncio
async def test_every_trade_is_waited_for_and_the_late_ones_are_returned():
    filled, stuck = _trade(order_id=1), _trade(order_id=2)
    waiting = asyncio.ensure_future(wait_quietly([filled, stuck], 0.5))
    _status_soon(filled, "Filled")
    assert await asyncio.wait_for(waiting, PROMPT) == [stuck]


@pytest.mark.asyncio
async def test_an_order_taken_while_the_wait_starts_is_seen_as_taken():
    trade = _trade(status="PendingSubmit")
    waiting = asyncio.ensure_future(wait_taken([trade], "SPY", timeout=LONG))
    _status_soon(trade, "Submitted")
    assert await asyncio.wait_for(waiting, PROMPT) is None


@pytest.mark.asyncio
async def test_a_refusal_is_reported_with_ibs_reason_not_as_silence():
    refused, unanswered = _trade(status="PendingSubmit", order_id=1), _trade(status="PendingSubmit", order_id=2)
    waiting = asyncio.ensure_future(wait_taken([refused, unanswered], "SPY", timeout=0.5))
    _status_soon(refused, "Cancelled")
    with pytest.raises(IntentError, match="order 1"):
        await asyncio.wait_for(waiting, PROMPT)
