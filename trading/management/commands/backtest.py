"""`manage.py backtest STRATEGY --start D --end D`: replay a strategy intent's own `targets()` over stored
bars in this process (never in the IB worker) and print the result (docs/BACKTEST.md).

Exit codes: 0 done · 2 bad input (unknown strategy, end before start, a bad option) · 3 bars missing
(the message names symbol, bar size and dates; `--fetch` asks the worker for them).
A progress bar goes to stderr; `--json` prints the result to stdout, byte for byte the same for the
same inputs and stored bars.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.backtest.broker import FILL_RULES
from trading.backtest.context import BarsMissing
from trading.backtest.engine import BacktestError, BacktestSettings, backtest_run, result_json
from trading.backtest.report import report_html

EXIT_BAD_INPUT, EXIT_NO_BARS = 2, 3
SHOWN = ("total_return", "annualised_return", "volatility", "sharpe", "sortino", "max_drawdown_fraction",
         "max_drawdown_duration_days", "trades", "win_rate", "turnover", "commissions", "final_equity")  # fmt: skip


def a_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}", returncode=EXIT_BAD_INPUT) from None


class Command(BaseCommand):
    help = "Backtest a strategy intent over stored bars with the very code that trades it."

    def add_arguments(self, parser):
        parser.add_argument("strategy", help="A strategy intent's name (spy_macd_vixy, testsignalgenerator, …).")
        parser.add_argument("--start", required=True, type=a_date, help="First day (YYYY-MM-DD).")
        parser.add_argument("--end", required=True, type=a_date, help="Last day (YYYY-MM-DD).")
        parser.add_argument("--cash", type=float, default=100_000.0)
        parser.add_argument("--exposure", type=float, default=None, help="Overall exposure 0..1 (default: the settings', now).")
        parser.add_argument(
            "--strategy-exposure", type=float, default=None, help="The strategy's weight 0..1 (default: its row's)."
        )
        parser.add_argument("--strategy-id", default=None, help="Run under another strategy id (its weight).")
        parser.add_argument("--commission", default="ib-fixed", help="ib-fixed or a flat per-share rate like 0.005.")
        parser.add_argument("--slippage-bps", type=float, default=0.0)
        parser.add_argument("--fill", choices=FILL_RULES, default="next-open")
        parser.add_argument("--every", default=None, help='"16:15 America/New_York" or a bar size ("30 mins").')
        parser.add_argument("--json", action="store_true", help="Print the whole result as JSON.")
        parser.add_argument("--report", type=Path, default=None, help="Write a self-contained HTML report here.")
        parser.add_argument("--fetch", action="store_true", help="Ask the IB worker for missing bars first.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        settings = BacktestSettings(
            cash=opts["cash"], exposure=opts["exposure"], strategy_exposure=opts["strategy_exposure"],
            commission=opts["commission"], slippage_bps=opts["slippage_bps"], fill=opts["fill"], every=opts["every"],
            strategy_id=opts["strategy_id"],
        )  # fmt: skip
        progress = None if opts["no_progress"] else ProgressBar(self.stderr)
        try:
            result = self._run(opts, settings, progress)
        except BacktestError as exc:
            raise CommandError(str(exc), returncode=EXIT_BAD_INPUT) from None
        except BarsMissing as exc:
            raise CommandError(str(exc), returncode=EXIT_NO_BARS) from None
        finally:
            if progress:
                progress.finish()
        if opts["report"]:
            opts["report"].write_text(report_html(result))
            self.stderr.write(f"report written to {opts['report']}")
        if opts["json"]:
            self.stdout.write(result_json(result), ending="")
            return
        self.stdout.write(f"{result['strategy']} {result['start']} .. {result['end']}")
        for name in SHOWN:
            self.stdout.write(f"  {name:28} {result['metrics'][name]}")

    def _run(self, opts, settings, progress) -> dict:
        run = lambda: backtest_run(  # noqa: E731
            strategy=opts["strategy"], start=opts["start"], end=opts["end"], settings=settings, progress=progress
        )
        if not opts["fetch"]:
            return run()
        from trading.backtest.fetch import bars_fetch_missing

        return bars_fetch_missing(run, log=self.stderr.write)


class ProgressBar:
    """`[#####.....]  52% 678/1304 steps` on one stderr line (a command's OutputWrapper), redrawn at most
    once a percent."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width, self.shown = stream, width, -1

    def __call__(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.width * done // max(total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}% {done}/{total} steps", ending="")
        self.stream.flush()

    def finish(self) -> None:
        if self.shown >= 0:
            self.stream.write("")
            self.stream.flush()
