"""The edge with ib_insync: its (camelCase, mutable) objects become plain snake_case dicts.

Events are snapshotted on the loop at the moment they arrive, because ib_insync mutates its Trade and
Ticker objects in place; the recorder's thread then writes the snapshot, never the live object.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from trading.iblib import UNSET_DOUBLE, UNSET_INTEGER

SIDES = {"BOT": "BUY", "SLD": "SELL"}


def number(value) -> str | None:
    """IB's floats as exact decimal strings; IB's "unset" sentinels and NaN as None."""
    if value is None or value == UNSET_DOUBLE or value == UNSET_INTEGER:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)


def contract_fields(contract) -> dict:
    return {
        "con_id": contract.conId or 0,
        "symbol": contract.symbol or contract.localSymbol or "?",
        "sec_type": contract.secType or "",
        "exchange": contract.exchange or contract.primaryExchange or "",
        "currency": contract.currency or "",
        "local_symbol": contract.localSymbol or "",
    }


def trade_snapshot(trade) -> dict:
    order, status = trade.order, trade.orderStatus
    filled, remaining, avg_price = status.filled, status.remaining, status.avgFillPrice
    completed_fill = number(getattr(order, "filledQuantity", None))
    if not filled and completed_fill and float(completed_fill) > 0:
        # A completedOrder carries no order status fields: ib_insync leaves filled at 0. The order's
        # own filledQuantity is IB's answer; the average price is then unknown (kept from the row).
        filled = float(completed_fill)
        remaining = max(float(order.totalQuantity) - filled, 0.0)
        avg_price = None
    return {
        **contract_fields(trade.contract),
        "client_id": order.clientId,
        "order_id": order.orderId,
        "perm_id": order.permId or status.permId or 0,
        "order_ref": order.orderRef or "",
        "account": order.account or "",
        "action": order.action,
        "total_quantity": number(order.totalQuantity) or "0",
        "order_type": order.orderType,
        "lmt_price": number(order.lmtPrice),
        "aux_price": number(order.auxPrice),
        "tif": order.tif or "",
        "status": status.status,
        "filled": number(filled) or "0",
        "remaining": number(remaining) or "0",
        "avg_fill_price": number(avg_price),
        "last_error": _last_error(trade),
    }


def _last_error(trade) -> str:
    for entry in reversed(trade.log):
        if entry.errorCode:
            return f"{entry.errorCode}: {entry.message}"[:500]
    return ""


def fill_snapshot(fill) -> dict:
    execution, report = fill.execution, fill.commissionReport
    executed_at = execution.time if isinstance(execution.time, datetime) else fill.time
    return {
        **contract_fields(fill.contract),
        "exec_id": execution.execId,
        "account": execution.acctNumber or "",
        "ib_order_id": execution.orderId or 0,
        "client_id": execution.clientId or 0,
        "perm_id": execution.permId or 0,
        "order_ref": execution.orderRef or "",
        "side": SIDES.get(execution.side, execution.side),
        "shares": number(execution.shares) or "0",
        "price": number(execution.price) or "0",
        "executed_at": (executed_at or datetime.now(UTC)).astimezone(UTC).isoformat(),
        **commission_snapshot(report),
    }


def fill_record_snapshot(row) -> dict:
    """A recorded Fill row with `fill_snapshot`'s keys (what the session no longer holds: see retention)."""

    def text(value) -> str | None:
        return None if value is None else format(value.normalize(), "f")

    return {
        "con_id": row.con_id, "symbol": row.symbol, "sec_type": row.sec_type, "exchange": row.exchange,
        "currency": row.currency, "local_symbol": row.local_symbol,
        "exec_id": row.exec_id, "account": row.account, "ib_order_id": row.ib_order_id, "client_id": row.client_id,
        "perm_id": row.perm_id, "order_ref": row.order_ref, "side": row.side, "shares": text(row.shares) or "0",
        "price": text(row.price) or "0", "executed_at": row.executed_at.astimezone(UTC).isoformat(),
        "commission": text(row.commission), "commission_currency": row.commission_currency,
        "realized_pnl": text(row.realized_pnl),
    }  # fmt: skip


def commission_snapshot(report) -> dict:
    if report is None or not report.execId:
        return {"commission": None, "commission_currency": "", "realized_pnl": None}
    return {
        "commission": number(report.commission),
        "commission_currency": report.currency or "",
        "realized_pnl": number(report.realizedPNL),
    }


def position_snapshot(position) -> dict:
    return {
        **contract_fields(position.contract),
        "account": position.account,
        "quantity": number(position.position) or "0",
        "avg_cost": number(position.avgCost) or "0",
    }


def portfolio_snapshot(item) -> dict:
    return {
        **contract_fields(item.contract),
        "account": item.account,
        "quantity": number(item.position) or "0",
        "avg_cost": number(item.averageCost) or "0",
        "market_price": number(item.marketPrice),
        "market_value": number(item.marketValue),
        "unrealized_pnl": number(item.unrealizedPNL),
        "realized_pnl": number(item.realizedPNL),
    }


def account_value_snapshot(value) -> dict:
    return {"account": value.account, "tag": value.tag, "currency": value.currency or "", "value": value.value}


def pnl_snapshot(pnl) -> dict:
    return {
        "account": pnl.account,
        "daily_pnl": number(pnl.dailyPnL),
        "unrealized_pnl": number(pnl.unrealizedPnL),
        "realized_pnl": number(pnl.realizedPnL),
    }


def ticker_snapshot(ticker) -> dict:
    return {
        "symbol": ticker.contract.symbol if ticker.contract else "?",
        "con_id": ticker.contract.conId if ticker.contract else 0,
        "bid": number(ticker.bid),
        "ask": number(ticker.ask),
        "last": number(ticker.last),
        "close": number(ticker.close),
    }
