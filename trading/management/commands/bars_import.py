"""`manage.py bars_import FILE.csv --symbol SPY [--bar-size "1 day"] [--what-to-show TRADES]`: store bars
from elsewhere for backtests. Columns (header row, any order): date, open, high, low, close[, volume] —
see trading/backtest/bars.py. `--sample FIRST LAST` stores a seeded random walk instead (not market
data: for trying the backtest out). Bars already stored at the same times are replaced.
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from trading.backtest.bars import bar_seconds, bars_import_csv, bars_store
from trading.backtest.sample import sample_bars


class Command(BaseCommand):
    help = "Import bars for backtests from a CSV file (or store sample bars)."

    def add_arguments(self, parser):
        parser.add_argument("csv", nargs="?", help="The CSV file (columns: date, open, high, low, close[, volume]).")
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--bar-size", default="1 day")
        parser.add_argument("--what-to-show", default="TRADES")
        parser.add_argument("--sample", nargs=2, metavar=("FIRST", "LAST"), help="Store sample bars for these days.")

    def handle(self, *args, **opts):
        try:
            bar_seconds(opts["bar_size"])
            if opts["sample"]:
                first, last = (dt.date.fromisoformat(d) for d in opts["sample"])
                rows = sample_bars(symbol=opts["symbol"], bar_size=opts["bar_size"], first=first, last=last)
                count = bars_store(
                    symbol=opts["symbol"],
                    bar_size=opts["bar_size"],
                    what_to_show=opts["what_to_show"],
                    rows=rows,
                    source="sample",
                )
            elif opts["csv"]:
                count = bars_import_csv(
                    path=opts["csv"], symbol=opts["symbol"], bar_size=opts["bar_size"], what_to_show=opts["what_to_show"]
                )
            else:
                raise CommandError("give a CSV file or --sample FIRST LAST", returncode=2)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"{count} {opts['bar_size']} bar(s) of {opts['symbol']} stored")
