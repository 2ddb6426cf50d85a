"""Saving and restoring the gateway's state (``--state FILE``).

What survives: cash, positions, every order (open ones keep working after a restart), every
execution with its commission, each client id's last order id, the permId and execId counters,
the live prices and whether the simulated session is open, so a restarted gateway continues where it stopped, like IB's servers do
across a nightly IB Gateway restart. Files are written atomically (temp file + rename).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, fields
from pathlib import Path

from trading.ibsim.accounts import Account
from trading.ibsim.broker import Broker
from trading.ibsim.market import Market
from trading.ibsim.orders import ExecutionRecord, OrderRecord

STATE_VERSION = 1


def snapshot(account: Account, broker: Broker, market: Market) -> dict:
    """Everything needed to resume, as plain JSON-able data."""
    return {
        "version": STATE_VERSION,
        "account": account.to_state(),
        "orders": [asdict(o) for o in broker.orders.values()],
        "executions": [asdict(e) for e in broker.executions],
        "last_order_ids": {str(k): v for k, v in broker.last_order_ids.items()},
        "next_perm_id": broker.next_perm_id,
        "exec_seq": broker.exec_seq,
        "prices": {str(k): v for k, v in market.prices().items()},
        "session_open": broker.session_open,
    }


def _build(cls, data: dict):
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


def restore(data: dict, account: Account, broker: Broker, market: Market) -> None:
    """Load a snapshot into freshly built objects (prices first: account values depend on them)."""
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported state version {data.get('version')!r}")
    market.restore_prices({int(k): v for k, v in data.get("prices", {}).items()})
    account.restore(data["account"])
    broker.restore_records(
        orders=[_build(OrderRecord, o) for o in data.get("orders", [])],
        executions=[_build(ExecutionRecord, e) for e in data.get("executions", [])],
        last_order_ids={int(k): int(v) for k, v in data.get("last_order_ids", {}).items()},
        next_perm_id=int(data["next_perm_id"]),
        exec_seq=int(data["exec_seq"]),
    )
    broker.session_open = bool(data.get("session_open", True))


def save(path: str | os.PathLike, data: dict) -> None:
    """Write ``data`` to ``path`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def load(path: str | os.PathLike) -> dict | None:
    """The saved snapshot, or None when the file does not exist yet."""
    target = Path(path)
    if not target.exists():
        return None
    return json.loads(target.read_text())
