"""Account values for intents, asked from IB at the moment they are needed.

`ib.accountSummaryAsync()` answers from ib_insync's cache, which IB refreshes every 3 minutes: too
old for a risk check right after a fill (and, once filled, never asked again: the issue-15 `summary`
showed the figures of before a buy). `account_snapshot` sends one reqAccountSummary, keeps the rows
that arrive until its end (not whatever the shared cache held before), and cancels it (IB allows two
open summary subscriptions per client; error 322 beyond).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from trading.intents.context import IntentContext, IntentError

SUMMARY_TIMEOUT = 10.0
NO_SUMMARY = "IB did not answer the account summary within {seconds:.0f}s"
NO_VALUE = "IB's account summary has no {tag} for {account}"
# ib_insync's own tag list (ib.reqAccountSummaryAsync), so the cache it shares stays complete.
TAGS = (
    "AccountType,NetLiquidation,TotalCashValue,SettledCash,AccruedCash,BuyingPower,EquityWithLoanValue,"
    "PreviousDayEquityWithLoanValue,GrossPositionValue,RegTEquity,RegTMargin,SMA,InitMarginReq,MaintMarginReq,"
    "AvailableFunds,ExcessLiquidity,Cushion,FullInitMarginReq,FullMaintMarginReq,FullAvailableFunds,"
    "FullExcessLiquidity,LookAheadNextChange,LookAheadInitMarginReq,LookAheadMaintMarginReq,"
    "LookAheadAvailableFunds,LookAheadExcessLiquidity,HighestSeverity,DayTradesRemaining,Leverage,$LEDGER:ALL"
)


@dataclass(frozen=True)
class AccountSnapshot:
    account: str
    values: dict[tuple[str, str], str]  # (tag, currency) -> value as IB sent it
    rows: list = field(default_factory=list)  # the AccountValue rows of this answer, in IB's order
    received_at: datetime | None = None  # when IB's answer ended

    @property
    def base_currency(self) -> str:
        """The account's base currency: the one IB reports NetLiquidation in."""
        return next((currency for tag, currency in self.values if tag == "NetLiquidation" and currency), "USD")

    def number(self, tag: str, currency: str | None = None) -> float | None:
        raw = self.values.get((tag, currency if currency is not None else self.base_currency))
        try:
            return float(raw) if raw not in (None, "") else None
        except ValueError:
            return None

    def require(self, tag: str) -> float:
        value = self.number(tag)
        if value is None:
            raise IntentError(NO_VALUE.format(tag=tag, account=self.account or "the account"))
        return value

    def by_currency(self, tag: str) -> dict[str, float]:
        """One ledger tag per currency (`CashBalance`, `ExchangeRate`, …), without IB's BASE total."""
        out = {}
        for (name, currency), raw in self.values.items():
            if name == tag and currency and currency != "BASE":
                try:
                    out[currency] = float(raw)
                except ValueError:
                    continue
        return out


async def account_snapshot(ctx: IntentContext) -> AccountSnapshot:
    ib = ctx.ib
    req_id = ib.client.getReqId()
    future = ib.wrapper.startReq(req_id)
    arrived: list = []
    # One bound method, connected and disconnected: eventkit disconnects a built-in method by identity,
    # and every `arrived.append` is a new object, so `-= arrived.append` left each snapshot's listener
    # (and its list, growing with every later answer) on the event for the worker's life.
    listen = arrived.append
    ib.accountSummaryEvent += listen
    ib.client.reqAccountSummary(req_id, "All", TAGS)
    try:
        await asyncio.wait_for(future, SUMMARY_TIMEOUT)
    except TimeoutError:
        raise IntentError(NO_SUMMARY.format(seconds=SUMMARY_TIMEOUT)) from None
    finally:
        ib.accountSummaryEvent -= listen
        ib.client.cancelAccountSummary(req_id)
    account = ctx.account
    rows = list({(v.account, v.tag, v.currency): v for v in arrived if not account or v.account == account}.values())
    values = {(value.tag, value.currency): value.value for value in rows}
    return AccountSnapshot(account=account, values=values, rows=rows, received_at=timezone.now())
