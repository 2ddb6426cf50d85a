"""Outgoing account messages: positions, portfolio, account values and summary, P&L."""

from __future__ import annotations

from trading.ibsim.contracts import Instrument
from trading.ibsim.messages.orders import contract_fields
from trading.ibsim.protocol import Out, encode


def position_exchange(inst: Instrument) -> str:
    """The exchange a position's contract carries (the listing exchange, IDEALPRO for FX)."""
    return "IDEALPRO" if inst.is_fx else "CBOE" if inst.is_option else inst.primary_exchange


def position(account: str, inst: Instrument, quantity: float, avg_cost: float) -> bytes:
    return encode(
        Out.POSITION_DATA, 3, account, *contract_fields(inst, position_exchange(inst)), quantity, avg_cost
    )


def position_end() -> bytes:
    return encode(Out.POSITION_END, 1)


def position_multi(req_id: int, account: str, inst: Instrument, quantity: float, avg_cost: float) -> bytes:
    fields = contract_fields(inst, position_exchange(inst))
    return encode(Out.POSITION_MULTI, 1, req_id, account, *fields, quantity, avg_cost, "")


def position_multi_end(req_id: int) -> bytes:
    return encode(Out.POSITION_MULTI_END, 1, req_id)


def portfolio(account: str, inst: Instrument, row: tuple[float, float, float, float, float, float]) -> bytes:
    """updatePortfolio: (position, market price, market value, average cost, unrealized, realized)."""
    return encode(
        Out.PORTFOLIO_VALUE, 8, inst.con_id, inst.symbol, inst.sec_type, inst.last_trade, inst.strike, inst.right,
        inst.multiplier_text, position_exchange(inst), inst.currency, inst.local_symbol, inst.trading_class, *row, account,
    )  # fmt: skip


def account_value(account: str, key: str, value: str, currency: str) -> bytes:
    return encode(Out.ACCT_VALUE, 2, key, value, currency, account)


def account_time(stamp: str) -> bytes:
    return encode(Out.ACCT_UPDATE_TIME, 1, stamp)


def account_download_end(account: str) -> bytes:
    return encode(Out.ACCT_DOWNLOAD_END, 1, account)


def account_update_multi(req_id: int, account: str, key: str, value: str, currency: str) -> bytes:
    return encode(Out.ACCOUNT_UPDATE_MULTI, 1, req_id, account, "", key, value, currency)


def account_update_multi_end(req_id: int) -> bytes:
    return encode(Out.ACCOUNT_UPDATE_MULTI_END, 1, req_id)


def account_summary(req_id: int, account: str, tag: str, value: str, currency: str) -> bytes:
    return encode(Out.ACCOUNT_SUMMARY, 1, req_id, account, tag, value, currency)


def account_summary_end(req_id: int) -> bytes:
    return encode(Out.ACCOUNT_SUMMARY_END, 1, req_id)


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> bytes:
    return encode(Out.PNL, req_id, daily, unrealized, realized)


def pnl_single(req_id: int, values: tuple[float, float, float, float, float]) -> bytes:
    """pnlSingle: (position, daily, unrealized, realized, value)."""
    return encode(Out.PNL_SINGLE, req_id, *values)
