"""The common alternative the intent benchmark compares with: a script that connects ib_insync for one
request, does the work, and disconnects (as the seed's cron jobs and many home setups do)::

    python bench/per_request_script.py summary --port 4002 --client-id 17
    python bench/per_request_script.py close_all --port 4002 --client-id 18

Prints one JSON line: what it did and how long connect, work and disconnect took.
"""

from __future__ import annotations

import argparse
import json
import time

from trading.iblib import IB, Contract, MarketOrder


def summary(ib: IB) -> dict:
    account = ib.managedAccounts()[0]
    values = ib.accountSummary(account)
    return {
        "account_summary": len(values),
        "portfolio": len(ib.portfolio()),
        "open_trades": len(ib.openTrades()),
        "fills": len(ib.fills()),
    }


def close_all(ib: IB) -> dict:
    for trade in ib.openTrades():
        ib.cancelOrder(trade.order)
    trades = []
    for position in [p for p in ib.positions() if p.position]:
        contract = Contract(conId=position.contract.conId, exchange="SMART")
        action = "SELL" if position.position > 0 else "BUY"
        trades.append(ib.placeOrder(contract, MarketOrder(action, abs(position.position))))
    deadline = time.monotonic() + 60
    while not all(t.isDone() for t in trades) and time.monotonic() < deadline:
        ib.waitOnUpdate(timeout=1)
    return {"closed": len(trades), "filled": sum(t.orderStatus.status == "Filled" for t in trades)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work", choices=("summary", "close_all"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", type=int, required=True)
    args = parser.parse_args()
    started = time.perf_counter()
    ib = IB()
    ib.connect("127.0.0.1", args.port, clientId=args.client_id, timeout=20)
    connected = time.perf_counter()
    result = summary(ib) if args.work == "summary" else close_all(ib)
    worked = time.perf_counter()
    ib.disconnect()
    print(
        json.dumps(
            {**result, "connect_s": connected - started, "work_s": worked - connected, "total_s": time.perf_counter() - started}
        )
    )


if __name__ == "__main__":
    main()
