"""The console's backtest against an established library, backtesting.py, on the same fixed bars: the
same SMA-cross rule, fill rule and commission give the same trades and the same final equity to the cent."""

import datetime as dt

import pandas as pd
import pytest
from backtesting import Backtest, Strategy

from tests.backtest.conftest import SmaCross, bars_make, sma_cross_quantity
from trading.backtest.broker import commission_model
from trading.backtest.engine import BacktestSettings, backtest_run

pytestmark = pytest.mark.django_db

FIRST, START, END = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 12, 31)


def library_run(rows: list[dict], *, commission: str, slippage_bps: float, trade_on_close: bool):
    frame = pd.DataFrame(
        {"Open": [r["open"] for r in rows], "High": [r["high"] for r in rows], "Low": [r["low"] for r in rows],
         "Close": [r["close"] for r in rows], "Volume": [r["volume"] for r in rows]},
        index=pd.DatetimeIndex([pd.Timestamp(r["date"]) for r in rows]),
    )  # fmt: skip
    start = pd.Timestamp(START)

    class Rule(Strategy):
        def init(self):
            pass

        def next(self):
            if self.data.index[-1] < start:
                return
            wanted = sma_cross_quantity(list(self.data.Close[-20:]))
            delta = wanted - self.position.size
            if delta > 0:
                self.buy(size=delta)
            elif delta < 0:
                self.sell(size=-delta)

    model = commission_model(commission)
    test = Backtest(
        frame, Rule, cash=100_000, commission=lambda size, price: model(abs(size), price), spread=slippage_bps / 10_000,
        trade_on_close=trade_on_close, finalize_trades=False,
    )  # fmt: skip
    return test.run()


def console_round_trips(result: dict) -> list[tuple]:
    trips, opened = [], None
    for fill in result["trades"]:
        day = dt.datetime.fromisoformat(fill["time"]).astimezone(dt.timezone(dt.timedelta(hours=-5))).date()
        if fill["side"] == "BUY":
            opened = (day, fill)
        else:
            entry_day, entry = opened
            pnl = (fill["price"] - entry["price"]) * fill["quantity"] - entry["commission"] - fill["commission"]
            trips.append((entry_day, day, fill["quantity"], round(entry["price"], 6), round(fill["price"], 6), round(pnl, 2)))
    return trips


def library_round_trips(stats) -> list[tuple]:
    return [
        (t.EntryTime.date(), t.ExitTime.date(), float(t.Size), round(t.EntryPrice, 6), round(t.ExitPrice, 6), round(t.PnL, 2))
        for t in stats._trades.itertuples()
    ]


# No slippage here: backtesting.py's `spread` moves the entry price only (its exits are unadjusted),
# ours moves every fill; test_broker.py checks slippage by hand.
@pytest.mark.parametrize(("commission", "slippage_bps"), [("ib-fixed", 0.0), ("0.005", 0.0), ("0.0005", 0.0)])
def test_next_open_fills_match_backtesting_py(commission, slippage_bps):
    rows = bars_make("SPY", first=FIRST, last=END)
    ours = backtest_run(
        strategy=SmaCross, start=START, end=END,
        settings=BacktestSettings(commission=commission, slippage_bps=slippage_bps, fill="next-open"),
    )  # fmt: skip
    theirs = library_run(rows, commission=commission, slippage_bps=slippage_bps, trade_on_close=False)

    assert len(library_round_trips(theirs)) >= 5
    assert console_round_trips(ours) == library_round_trips(theirs)
    assert ours["metrics"]["final_equity"] == round(theirs["Equity Final [$]"], 2)


def test_close_fills_match_backtesting_py_trade_on_close():
    rows = bars_make("SPY", first=FIRST, last=END)
    ours = backtest_run(strategy=SmaCross, start=START, end=END, settings=BacktestSettings(fill="close"))
    theirs = library_run(rows, commission="ib-fixed", slippage_bps=0.0, trade_on_close=True)

    # backtesting.py never fills an order decided on its last bar; ours fills at that close.
    last_day = END.isoformat()
    ours["trades"] = [t for t in ours["trades"] if not t["time"].startswith(last_day)]
    assert len(library_round_trips(theirs)) >= 5
    assert console_round_trips(ours) == library_round_trips(theirs)
