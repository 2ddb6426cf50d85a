"""A backtest's report page: equity curve, drawdown and trade markers on price, drawn with uPlot.

`report_html` builds one self-contained file (uPlot's script and styles inlined, the result as JSON)
for `manage.py backtest --report`; the admin's result page uses the same template with uPlot served
from static files. `report_series` is the one place that turns a result into the plotted series.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

UPLOT = Path("vendor/uplot-1.6.32")


def report_series(result: dict) -> dict:
    """Unix-day x values with equity, drawdown (fraction below the running peak) and the fills."""
    xs, equity, drawdown, peak = [], [], [], 0.0
    for day, value in result["equity"]:
        xs.append(int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()))
        equity.append(value)
        peak = max(peak, value)
        drawdown.append(round(-(peak - value) / peak, 6) if peak > 0 else 0.0)
    trades = [
        {"t": int(dt.datetime.fromisoformat(t["time"]).timestamp()), "symbol": t["symbol"], "side": t["side"],
         "quantity": t["quantity"], "price": t["price"]}
        for t in result["trades"]
    ]  # fmt: skip
    return {"x": xs, "equity": equity, "drawdown": drawdown, "trades": trades}


def report_prices(result: dict) -> tuple[str, list]:
    """The first traded symbol's close at each equity day (its last stored bar of that day), or None."""
    from trading.backtest.bars import NEW_YORK
    from trading.models import Bar

    if not result["trades"]:
        return "", []
    symbol = result["trades"][0]["symbol"]
    closes: dict[str, float] = {}
    for end, close in (
        Bar.objects.filter(symbol=symbol, what_to_show="TRADES").order_by("bar_size", "end").values_list("end", "close")
    ):
        closes[end.astimezone(NEW_YORK).date().isoformat()] = close
    return symbol, [closes.get(day) for day, _ in result["equity"]]


def report_context(result: dict) -> dict:
    series = report_series(result)
    series["price_symbol"], series["price"] = report_prices(result)
    return {
        "result": result,
        "metrics": sorted(result["metrics"].items()),
        "price_symbol": series["price_symbol"],
        "series_json": json.dumps(series).replace("</", "<\\/"),
    }


def report_html(result: dict) -> str:
    """The whole page in one file: it opens from disk, offline."""
    static = Path(settings.BASE_DIR) / "static" / UPLOT
    return render_to_string(
        "backtest/report.html",
        {
            **report_context(result),
            "inline": True,
            "uplot_js": (static / "uPlot.iife.min.js").read_text(),
            "uplot_css": (static / "uPlot.min.css").read_text(),
            "report_js": (Path(settings.BASE_DIR) / "static" / "backtest" / "report.js").read_text(),
        },
    )
