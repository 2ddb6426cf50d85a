"""Running fill totals per symbol (bought, sold, net, cash, commission), logged after each fill.

IB may deliver an execution again (after a reconnect, or a commission report for an old fill),
so each ``execId`` is counted once. Totals live in this module: they start from zero whenever the
handlers are (re)loaded.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass

from ib_insync import IB, CommissionReport, Fill, Trade

from trading.handlers import IBEventRegistry

logger = logging.getLogger(__name__)


@dataclass
class SymbolTotals:
    fills: int = 0
    bought: float = 0.0
    sold: float = 0.0
    cash: float = 0.0  # money in (sells) minus money out (buys), before commission
    commission: float = 0.0

    @property
    def net(self) -> float:
        return self.bought - self.sold


totals: defaultdict[str, SymbolTotals] = defaultdict(SymbolTotals)
_counted_fills: set[str] = set()
_counted_commissions: set[str] = set()


def _symbol(fill: Fill) -> str:
    return fill.contract.localSymbol or fill.contract.symbol


@IBEventRegistry.collect("execDetails")
def count_fill(ib: IB, trade: Trade, fill: Fill) -> None:
    execution = fill.execution
    if execution.execId in _counted_fills:
        return
    _counted_fills.add(execution.execId)
    entry = totals[_symbol(fill)]
    entry.fills += 1
    if execution.side == "BOT":
        entry.bought += execution.shares
        entry.cash -= execution.shares * execution.price
    else:
        entry.sold += execution.shares
        entry.cash += execution.shares * execution.price
    logger.info("fills %s", summary_line(_symbol(fill)))


@IBEventRegistry.collect("commissionReport")
def add_commission(ib: IB, trade: Trade, fill: Fill, report: CommissionReport) -> None:
    if report.execId in _counted_commissions:
        return
    _counted_commissions.add(report.execId)
    totals[_symbol(fill)].commission += report.commission


def summary_line(symbol: str) -> str:
    entry = totals[symbol]
    return (
        f"{symbol}: {entry.fills} fill(s), bought {entry.bought:g}, sold {entry.sold:g}, "
        f"net {entry.net:+g}, cash {entry.cash:+.2f}, commission {entry.commission:.2f}"
    )
