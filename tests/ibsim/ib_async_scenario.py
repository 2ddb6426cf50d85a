"""Drive the paper gateway with ib_async (a second, independent client) and print the outcome as JSON.

Run with the ib_async virtualenv's python (ib_async's dependency aeventkit replaces ib_insync's
``eventkit`` module, so the two cannot share an environment)::

    .venv-ibasync/bin/python tests/ibsim/ib_async_scenario.py PORT
"""

import asyncio
import json
import sys

from ib_async import IB, MarketOrder, Stock


async def wait_for(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("scenario step timed out")
        await asyncio.sleep(0.01)


async def scenario(port: int) -> dict:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=21, timeout=10)
    result = {"connected": ib.isConnected(), "server_version": ib.client.serverVersion()}
    spy = Stock("SPY", "SMART", "USD")
    qualified = await ib.qualifyContractsAsync(spy)
    result["qualified_con_id"] = qualified[0].conId if qualified else None
    trade = ib.placeOrder(spy, MarketOrder("BUY", 7, orderRef="ib_async"))
    await wait_for(trade.isDone)
    await wait_for(lambda: trade.fills and trade.fills[0].commissionReport.execId)
    result["status"] = trade.orderStatus.status
    result["filled"] = trade.orderStatus.filled
    result["commission"] = trade.fills[0].commissionReport.commission
    summary = await ib.accountSummaryAsync()
    result["summary_tags"] = sorted({row.tag for row in summary})
    await wait_for(lambda: ib.positions())
    result["positions"] = {p.contract.symbol: p.position for p in ib.positions()}
    bars = await ib.reqHistoricalDataAsync(spy, "", "1 D", "1 hour", "TRADES", useRTH=True)
    result["bars"] = len(bars)
    ib.disconnect()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(scenario(int(sys.argv[1])))))
