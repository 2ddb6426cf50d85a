"""Where a snapshot's figures come from: IB's PnL stream when subscribed, else the account values."""

from ib_insync import IB, AccountValue, PnL

from trading.worker.equity import equity_read


def ib_with(values: list[tuple[str, str, str]], pnl: PnL | None = None) -> IB:
    """A real ib_insync IB whose wrapper holds what the gateway would have sent (no connection needed)."""
    ib = IB()
    for tag, value, currency in values:
        ib.wrapper.accountValues[("DU1", tag, currency, "")] = AccountValue("DU1", tag, value, currency, "")
    if pnl is not None:
        ib.wrapper.reqId2PnL[7] = pnl
    return ib


VALUES = [("NetLiquidation", "1000.004", "BASE"), ("NetLiquidation", "1000123.456", "USD"), ("UnrealizedPnL", "-12.5", "USD"),
          ("RealizedPnL", "3", "USD"), ("UnrealizedPnL", "99", "BASE")]  # fmt: skip


def test_the_pnl_stream_gives_the_pnl_when_subscribed():
    snap = equity_read(ib_with(VALUES, PnL(account="DU1", dailyPnL=41.234, unrealizedPnL=40.0, realizedPnL=float("nan"))))
    assert snap == {
        "account": "DU1", "net_liquidation": 1000123.46, "currency": "USD",
        "daily_pnl": 41.23, "unrealized_pnl": 40.0, "realized_pnl": None,
    }  # fmt: skip


def test_without_the_stream_the_account_values_in_the_same_currency_stand_in():
    snap = equity_read(ib_with(VALUES))
    assert (snap["daily_pnl"], snap["unrealized_pnl"], snap["realized_pnl"]) == (None, -12.5, 3.0)


def test_nothing_is_recorded_before_ib_sent_a_net_liquidation():
    assert equity_read(ib_with([("NetLiquidation", "7", "BASE"), ("CashBalance", "5", "USD")])) is None
    assert equity_read(ib_with([("NetLiquidation", "", "USD")])) is None
