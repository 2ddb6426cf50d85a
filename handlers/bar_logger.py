"""Log each completed bar of a live bar subscription; optionally append it to a CSV per symbol.

Works for ``ib.reqRealTimeBars(...)`` (every new bar is complete) and for
``ib.reqHistoricalData(..., keepUpToDate=True)`` (a new bar starts, so the one before it is the
completed one). The handler is async so the CSV write runs in a thread and never stalls the IB
event loop. Set ``BAR_LOG_DIR`` to a folder to get ``<symbol>.csv`` files there.
"""

import asyncio
import csv
import logging
import os
from pathlib import Path

from ib_insync import IB, BarDataList, RealTimeBarList

from trading.handlers import IBEventRegistry

logger = logging.getLogger(__name__)

CSV_FIELDS = ("time", "open", "high", "low", "close", "volume")


def completed_bar(bars: BarDataList | RealTimeBarList) -> object | None:
    if isinstance(bars, RealTimeBarList):
        return bars[-1] if bars else None
    return bars[-2] if len(bars) > 1 else None


def bar_row(bar: object) -> dict[str, object]:
    # RealTimeBar names its fields time/open_; historical BarData names them date/open.
    when = getattr(bar, "time", None) or getattr(bar, "date", None)
    opening = getattr(bar, "open_", None)
    if opening is None:
        opening = getattr(bar, "open", None)
    return {
        "time": when,
        "open": opening,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
    }


def append_csv(path: Path, row: dict[str, object]) -> None:
    is_new = not path.exists()
    with path.open("a", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS)
        if is_new:
            writer.writeheader()
        writer.writerow(row)


@IBEventRegistry.collect("barUpdate", is_async=True)
async def log_bar(ib: IB, bars: BarDataList | RealTimeBarList, has_new_bar: bool) -> None:
    bar = completed_bar(bars) if has_new_bar else None
    if bar is None:
        return
    symbol = bars.contract.localSymbol or bars.contract.symbol
    row = bar_row(bar)
    logger.info("bar %s %s O %s H %s L %s C %s V %s", symbol, *row.values())
    folder = os.environ.get("BAR_LOG_DIR")
    if folder:
        await asyncio.to_thread(append_csv, Path(folder) / f"{symbol}.csv", row)
