"""Activity as the worker and the intents write it."""

from trading.activity import activity_record
from trading.models import ActivityKind
from trading.worker.store import fill_record

SPY = {"con_id": 756733, "symbol": "SPY", "sec_type": "STK", "exchange": "SMART", "currency": "USD", "local_symbol": "SPY"}
_exec = iter(range(1, 10**6))


def fill(*, side: str = "BUY", shares: str = "10", price: str = "400.25", mode: str = "paper", **changes):
    """A fill through the worker's own write path: the Fill row and its activity entry."""
    snap = {
        **SPY, "exec_id": f"0001.{next(_exec):04d}", "account": "DU1", "ib_order_id": 7, "client_id": 1, "perm_id": 555,
        "order_ref": "", "side": side, "shares": shares, "price": price, "executed_at": "2026-11-20T15:30:00+00:00",
        "commission": None, "commission_currency": "", "realized_pnl": None,
    }  # fmt: skip
    snap.update(changes)
    events, _ = fill_record(mode=mode, snap=snap)
    return events


def refused(reason: str = "trading is stopped (kill switch)", mode: str = "paper"):
    return activity_record(
        kind=ActivityKind.ORDER_REFUSED,
        severity="warning",
        message=f"refused: BUY 1 SPY MKT — {reason}",
        mode=mode,
        payload={"order": None, "reason": reason},
    )


def connection(state: str, mode: str = "paper"):
    return activity_record(kind=ActivityKind.CONNECTION, message=f"worker {state}", mode=mode, payload={"state": state})
