"""`manage.py backtest` and `manage.py bars_import` as a trader types them."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trading.models import Bar

pytestmark = pytest.mark.django_db

ARGS = ["spy_macd_vixy", "--start", "2024-06-03", "--end", "2024-07-31"]


def backtest(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("backtest", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_prints_the_whole_result_the_same_twice_and_progress_goes_to_stderr(spy_and_vixy_daily):
    first, progress = backtest(*ARGS, "--json", "--exposure", "0.8", "--commission", "0.005", "--slippage-bps", "2")
    second, _ = backtest(*ARGS, "--json", "--exposure", "0.8", "--commission", "0.005", "--slippage-bps", "2")

    result = json.loads(first)
    assert first == second
    assert list(result) == ["strategy", "start", "end", "settings", "metrics", "trades", "equity"]
    assert result["settings"] | {"commission": "0.005", "slippage_bps": 2.0, "overall_exposure": 0.8} == result["settings"]
    assert result["equity"][0][0] == "2024-06-03" and result["equity"][-1][0] == "2024-07-31"
    assert "100% 43/43 steps" in progress


def test_the_report_is_one_self_contained_page(spy_and_vixy_daily, tmp_path):
    out, _ = backtest(*ARGS, "--report", str(tmp_path / "report.html"), "--no-progress")

    page = (tmp_path / "report.html").read_text()
    assert "total_return" in out and "final_equity" in out
    assert "uPlot" in page and "<script src" not in page and '"equity": [' in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--start", "2024-01-01", "--end", "2024-02-01"], "unknown strategy 'nobody'"),
        (["spy_macd_vixy", "--start", "2024-02-01", "--end", "2024-01-01"], "the end 2024-01-01 is before the start"),
        (["spy_macd_vixy", "--start", "2024-02-30", "--end", "2024-03-01"], "not a date"),
        (
            ["spy_macd_vixy", "--start", "2024-01-01", "--end", "2024-02-01"],
            "no stored TRADES bars of 1 day for SPY from 2023-03-",
        ),
    ],
)
def test_bad_input_fails_with_a_reason(db, args, message):
    with pytest.raises(CommandError, match=message):
        backtest(*args, "--no-progress")


def test_a_csv_file_is_imported_by_its_named_columns(db, tmp_path):
    path = tmp_path / "spy.csv"
    path.write_text(
        "Date,Close,Open,High,Low,Volume,Adj Close\n2024-03-04,101,100,102,99,5000,100.5\n2024-03-05,103,101,104,100,,102\n"
    )
    out = io.StringIO()
    call_command("bars_import", str(path), "--symbol", "SPY", stdout=out)

    bars = list(Bar.objects.order_by("start").values_list("start", "end", "open", "close", "volume", "source"))
    assert "2 1 day bar(s) of SPY stored" in out.getvalue()
    assert bars[0][2:] == (100.0, 101.0, 5000.0, "csv") and bars[1][4] == 0.0
    assert bars[0][0] == dt.datetime(2024, 3, 4, 14, 30, tzinfo=dt.UTC) and bars[0][1] == dt.datetime(
        2024, 3, 4, 21, 0, tzinfo=dt.UTC
    )


def test_a_bad_csv_stores_nothing_and_says_where(db, tmp_path):
    (tmp_path / "no_close.csv").write_text("date,open,high,low\n2024-03-04,1,2,0.5\n")
    (tmp_path / "bad_row.csv").write_text("date,open,high,low,close\n2024-03-04,1,2,0.5,1\n2024-03-05,1,2,x,1\n")

    with pytest.raises(CommandError, match="no_close.csv: the header has no close column"):
        call_command("bars_import", str(tmp_path / "no_close.csv"), "--symbol", "SPY")
    with pytest.raises(CommandError, match="bad_row.csv line 3: could not convert"):
        call_command("bars_import", str(tmp_path / "bad_row.csv"), "--symbol", "SPY")
    assert not Bar.objects.exists()


def test_sample_bars_are_stored_for_trying_it_out(db):
    call_command("bars_import", "--symbol", "SPY", "--sample", "2024-01-01", "2024-01-31", stdout=io.StringIO())

    assert Bar.objects.filter(symbol="SPY", source="sample").count() == 23  # the weekdays of January
