"""Walk every request of a client library's ``IB`` that waits for an answer, against a gateway, and
print one JSON object: ``{"outcomes": {method: outcome}, "unwalked": [...]}``.

An outcome is ``"answered"`` (the call returned), ``"error <code>"`` (it ended on an IB error),
``"timeout"`` (no end within the per-request deadline) or ``"failed <exception>"``. ``unwalked``
lists the library's request methods (``*Async`` methods that wait on a request future) this walk has
no call for, so a method added to the library shows up instead of being silently skipped.

Run with either library's python (ib_async lives in its own virtualenv)::

    .venv/bin/python tests/ibsim/request_walk.py ib_insync PORT
    .venv-ibasync/bin/python tests/ibsim/request_walk.py ib_async PORT
"""

import asyncio
import datetime as dt
import importlib
import inspect
import json
import sys
import time

DEADLINE = 5.0  # seconds per request; the libraries' own 4 s timeouts must not be what ends a call
NOT_REQUESTS = {"connectAsync", "timeRangeAsync"}  # a connection the walk has; a clock helper


def request_methods(IB) -> set[str]:
    names = set()
    for name, member in inspect.getmembers(IB, inspect.isfunction):
        if name.endswith("Async") and name not in NOT_REQUESTS:
            try:
                source = inspect.getsource(member)
            except OSError:
                continue
            if "startReq" in source or "Async(" in source:
                names.add(name)
    return names


async def walk(lib, port: int) -> dict:
    ib = lib.IB()
    await ib.connectAsync("127.0.0.1", port, clientId=31, timeout=10)
    account = ib.managedAccounts()[0]
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *args: errors.append((req_id, code))
    spy = lib.Stock("SPY", "SMART", "USD")
    await ib.qualifyContractsAsync(spy)
    chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId)
    chain = next(c for c in chains if c.exchange == "SMART")
    option = lib.Option("SPY", chain.expirations[-1], chain.strikes[len(chain.strikes) // 2], "C", "SMART")
    now = dt.datetime.now(dt.UTC)
    scan = lib.ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR", scanCode="TOP_PERC_GAIN")
    calls = {
        "qualifyContractsAsync": lambda: ib.qualifyContractsAsync(lib.Stock("AAPL", "SMART", "USD")),
        "reqTickersAsync": lambda: ib.reqTickersAsync(spy),
        "whatIfOrderAsync": lambda: ib.whatIfOrderAsync(spy, lib.MarketOrder("BUY", 1)),
        "reqCurrentTimeAsync": lambda: ib.reqCurrentTimeAsync(),
        "reqAccountUpdatesAsync": lambda: ib.reqAccountUpdatesAsync(account),
        "reqAccountUpdatesMultiAsync": lambda: ib.reqAccountUpdatesMultiAsync(account),
        "accountSummaryAsync": lambda: ib.accountSummaryAsync(account),
        "reqAccountSummaryAsync": lambda: ib.reqAccountSummaryAsync(),
        "reqOpenOrdersAsync": lambda: ib.reqOpenOrdersAsync(),
        "reqAllOpenOrdersAsync": lambda: ib.reqAllOpenOrdersAsync(),
        "reqCompletedOrdersAsync": lambda: ib.reqCompletedOrdersAsync(False),
        "reqExecutionsAsync": lambda: ib.reqExecutionsAsync(),
        "reqPositionsAsync": lambda: ib.reqPositionsAsync(),
        "reqContractDetailsAsync": lambda: ib.reqContractDetailsAsync(spy),
        "reqMatchingSymbolsAsync": lambda: ib.reqMatchingSymbolsAsync("SP"),
        "reqMarketRuleAsync": lambda: ib.reqMarketRuleAsync(26),
        "reqHistoricalDataAsync": lambda: ib.reqHistoricalDataAsync(spy, "", "1 D", "1 hour", "TRADES", True),
        "reqHistoricalScheduleAsync": lambda: ib.reqHistoricalScheduleAsync(spy, 3),
        "reqHistoricalTicksAsync": lambda: ib.reqHistoricalTicksAsync(spy, "", now, 100, "TRADES", True),
        "reqHeadTimeStampAsync": lambda: ib.reqHeadTimeStampAsync(spy, "TRADES", True, 1),
        "reqSmartComponentsAsync": lambda: ib.reqSmartComponentsAsync("9c0001"),
        "reqMktDepthExchangesAsync": lambda: ib.reqMktDepthExchangesAsync(),
        "reqHistogramDataAsync": lambda: ib.reqHistogramDataAsync(spy, True, "1 week"),
        "reqFundamentalDataAsync": lambda: ib.reqFundamentalDataAsync(spy, "ReportSnapshot"),
        "reqScannerDataAsync": lambda: ib.reqScannerDataAsync(scan),
        "reqScannerParametersAsync": lambda: ib.reqScannerParametersAsync(),
        "calculateImpliedVolatilityAsync": lambda: ib.calculateImpliedVolatilityAsync(option, 5.0, 560.0),
        "calculateOptionPriceAsync": lambda: ib.calculateOptionPriceAsync(option, 0.2, 560.0),
        "reqSecDefOptParamsAsync": lambda: ib.reqSecDefOptParamsAsync("SPY", "", "STK", spy.conId),
        "reqNewsProvidersAsync": lambda: ib.reqNewsProvidersAsync(),
        "reqNewsArticleAsync": lambda: ib.reqNewsArticleAsync("BRFG", "BRFG$04fb9da2"),
        "reqHistoricalNewsAsync": lambda: ib.reqHistoricalNewsAsync(spy.conId, "BRFG", "", "", 10),
        "getWshMetaDataAsync": lambda: ib.getWshMetaDataAsync(),
        "getWshEventDataAsync": lambda: ib.getWshEventDataAsync(lib.WshEventData(conId=spy.conId)),
        "reqUserInfoAsync": lambda: ib.reqUserInfoAsync(),
    }
    outcomes = {}
    for name, call in calls.items():
        if not hasattr(ib, name):
            continue
        errors.clear()
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(call(), DEADLINE)
        except TimeoutError:
            outcomes[name] = "timeout"
            continue
        except Exception as exc:  # a RequestError, or the library failing on the answer
            code = getattr(exc, "code", None)
            outcomes[name] = f"error {code}" if code else f"failed {exc!r}"
            continue
        if time.monotonic() - started >= 3.9:  # ended by the library's own 4 s timeout, not an answer
            outcomes[name] = "timeout"
        elif errors and result in (None, [], ""):
            outcomes[name] = f"error {errors[-1][1]}"
        else:
            outcomes[name] = "answered"
    outcomes["requestFAAsync"] = await _fa_refused(ib, errors)
    outcomes.update(await _streams(ib, lib, spy))
    unwalked = sorted(request_methods(type(ib)) - set(outcomes))
    ib.disconnect()
    return {"outcomes": outcomes, "unwalked": unwalked}


async def _fa_refused(ib, errors) -> str:
    """requestFA has no request id: both libraries wait 4 s for receiveFA; IB answers a non-FA
    account with error 321 instead, which is what is checked here."""
    errors.clear()
    ib.client.requestFA(1)
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if errors:
            return f"error {errors[-1][1]}"
        await asyncio.sleep(0.01)
    return "timeout"


async def _streams(ib, lib, spy) -> dict:
    """Streaming requests without an end marker: the first data must arrive."""
    eurusd = lib.Forex("EURUSD")
    await ib.qualifyContractsAsync(eurusd)
    depth = ib.reqMktDepth(eurusd, 5)
    ticks = ib.reqTickByTickData(eurusd, "BidAsk")
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and not (len(depth.domBids) == 5 and ticks.tickByTicks):
        await asyncio.sleep(0.01)
    outcomes = {
        "reqMktDepth": "answered" if len(depth.domBids) == 5 and len(depth.domAsks) == 5 else "timeout",
        "reqTickByTickData": "answered" if ticks.tickByTicks else "timeout",
    }
    ib.cancelMktDepth(eurusd)
    ib.cancelTickByTickData(eurusd, "BidAsk")
    return outcomes


if __name__ == "__main__":
    library = importlib.import_module(sys.argv[1])
    print(json.dumps(asyncio.run(walk(library, int(sys.argv[2])))))
