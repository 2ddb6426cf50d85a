"""The wire format against ib_insync's own Decoder, for every server version the gateway may pick,
and the determinism of prices and history."""

import datetime as dt

import pytest
from ib_insync.decoder import Decoder

from trading.ibsim.contracts import Universe
from trading.ibsim.history import make_bars
from trading.ibsim.market import Market
from trading.ibsim.messages import common, market, orders
from trading.ibsim.orders import ExecutionRecord, OrderRecord
from trading.ibsim.protocol import UNSET_DOUBLE, FrameReader, encode, fmt

UNIVERSE = Universe()
SPY = UNIVERSE.by_symbol("SPY")
VERSIONS = (157, 159, 160, 162, 163, 164, 166, 170, 176)


class Recorder:
    """A stand-in ib_insync wrapper that records every callback."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, args))


def decode(data: bytes, version: int) -> list[tuple]:
    """Decode one framed message the way ib_insync does; decoding errors fail the test."""
    [fields] = FrameReader().feed(data)
    recorder = Recorder()
    decoder = Decoder(recorder, version)
    decoder.handlers[int(fields[0])](fields)
    return recorder.calls


def an_order(**changes) -> OrderRecord:
    order = OrderRecord(
        client_id=3, order_id=17, perm_id=1_000_000_005, con_id=SPY.con_id, exchange="SMART", action="SELL",
        total_quantity=250, order_type="LMT", lmt_price=101.25, order_ref="strategy-a/run-9", tif="GTC",
        account="DU1234567", status="Submitted", filled=100, avg_fill_price=101.3, completed_at=1.7e9,
    )  # fmt: skip
    for key, value in changes.items():
        setattr(order, key, value)
    return order


@pytest.mark.parametrize("version", VERSIONS)
def test_open_orders_decode_with_every_field_in_place(version):
    [(name, (order_id, contract, order, state))] = decode(
        orders.open_order(an_order(), SPY, version), version
    )

    assert (name, order_id, contract.conId, contract.symbol) == ("openOrder", 17, 756733, "SPY")
    assert (order.action, order.totalQuantity, order.orderType, order.lmtPrice) == (
        "SELL",
        250,
        "LMT",
        101.25,
    )
    assert (order.orderRef, order.tif, order.clientId, order.permId) == (
        "strategy-a/run-9",
        "GTC",
        3,
        1_000_000_005,
    )
    assert order.auxPrice == UNSET_DOUBLE and state.status == "Submitted"


@pytest.mark.parametrize("version", VERSIONS)
def test_what_if_margins_land_in_the_order_state(version):
    margins = dict.fromkeys(
        ["init_before", "maint_before", "equity_before", "init_change", "maint_change", "equity_change",
         "init_after", "maint_after", "equity_after"], "12.50")  # fmt: skip
    margins["init_change"] = "3000.00"
    [(_, (_, _, order, state))] = decode(
        orders.open_order(an_order(commission=2.5), SPY, version, margins), version
    )

    assert order.whatIf is True
    assert (state.initMarginChange, state.commission, state.commissionCurrency) == ("3000.00", 2.5, "USD")


@pytest.mark.parametrize("version", VERSIONS)
def test_completed_orders_decode(version):
    [(name, (contract, order, state))] = decode(
        orders.completed_order(an_order(status="Filled"), SPY, version), version
    )

    assert name == "completedOrder" and contract.conId == 756733
    assert (order.permId, order.orderRef, order.filledQuantity) == (1_000_000_005, "strategy-a/run-9", 100)
    assert state.status == "Filled" and state.completedTime.endswith("US/Eastern")


@pytest.mark.parametrize("version", VERSIONS)
def test_contract_details_decode(version):
    [(name, (req_id, details))] = decode(market.contract_details(5, SPY, "SMART", version), version)

    assert (name, req_id, details.contract.conId, details.contract.primaryExchange) == (
        "contractDetails", 5, 756733, "ARCA")  # fmt: skip
    assert details.minTick == 0.01 and details.timeZoneId == "US/Eastern"


def test_order_status_execution_and_commission_decode():
    execution = ExecutionRecord(
        exec_id="0000e0d6.00000007.01.01", time=1.7e9, client_id=3, order_id=17, perm_id=5, con_id=SPY.con_id,
        exchange="SMART", venue="ARCA", side="SLD", shares=100, price=101.3, cum_qty=100, avg_price=101.3,
        order_ref="r", account="DU1234567", commission=1.0, realized_pnl=None, liquidity=1,
    )  # fmt: skip
    [(_, status)] = decode(orders.order_status(an_order()), 176)
    [(_, (req_id, contract, fill))] = decode(orders.exec_details(-1, execution, SPY), 176)
    [(_, (report,))] = decode(orders.commission_report(execution), 176)

    assert status[:5] == (17, "Submitted", 100.0, 150.0, 101.3)
    assert (req_id, contract.conId, fill.side, fill.shares, fill.clientId) == (-1, 756733, "SLD", 100, 3)
    assert (report.execId, report.commission, report.realizedPNL) == ("0000e0d6.00000007.01.01", 1.0, 0.0)


@pytest.mark.parametrize("version", (157, 166, 176))
def test_errors_carry_the_advanced_reject_field_from_version_166(version):
    [(name, args)] = decode(common.error(9, 201, "Order rejected - reason:x", version), version)

    assert name == "error" and args[:3] == (9, 201, "Order rejected - reason:x")


def test_fields_are_encoded_as_tws_does():
    assert [fmt(v) for v in (True, False, 7, 2**31 - 1, 100.0, 0.1 + 0.2, UNSET_DOUBLE, None, "x")] == [
        "1", "0", "7", "", "100", "0.3", "", "", "x"]  # fmt: skip
    assert FrameReader().feed(encode(1, "a", 2.5) + encode(3)[:3]) == [["1", "a", "2.5"]]


def test_the_random_walk_is_the_same_for_the_same_seed_only():
    def path(seed):
        prices = Market(UNIVERSE, seed)
        for _ in range(50):
            prices.step()
        return prices.quote(SPY.con_id).price

    assert path(7) == path(7)
    assert path(7) != path(8)


def test_history_depends_on_the_seed_and_the_bar_times():
    times = [dt.date(2024, 3, day) for day in (4, 5, 6, 7, 8)]

    def closes(seed):
        return [b.close for b in make_bars(SPY, seed, 500.0, times, "1 day", True, "TRADES")]

    assert closes(1) == closes(1)
    assert closes(1) != closes(2)
    assert closes(1)[-1] == 500.0
