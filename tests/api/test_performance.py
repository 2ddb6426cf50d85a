"""GET /api/performance and /api/performance/equity: shape, filters, errors (figures worked by hand)."""

import datetime as dt
from decimal import Decimal

import pytest

from tests.api.factories import fill_make, position_make
from trading.models import EquitySnapshot

pytestmark = pytest.mark.django_db
UTC = dt.UTC
SPY, QQQ = 756733, 320227571


def at(day: int, hour: int = 15) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def new_york(settings, zone_from_settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"


@pytest.fixture
def history():
    """alpha: +98 on SPY (3 March), −8.8 on QQQ (4 March); beta: short 5 SPY from 101, marked at 99."""
    fill_make(strategy="alpha", con_id=SPY, side="BUY", shares="10", price="100", commission=Decimal("1"), executed_at=at(2))
    fill_make(strategy="alpha", con_id=SPY, side="SELL", shares="10", price="110", commission=Decimal("1"), executed_at=at(3))
    fill_make(strategy="beta", con_id=SPY, side="SELL", shares="5", price="101", commission=Decimal("1"), executed_at=at(3, 16))
    fill_make(strategy="alpha", symbol="QQQ", con_id=QQQ, side="BUY", shares="4", price="50", executed_at=at(4))
    fill_make(
        strategy="alpha",
        symbol="QQQ",
        con_id=QQQ,
        side="SELL",
        shares="4",
        price="48",
        commission=Decimal("0.8"),
        executed_at=at(4, 16),
    )
    fill_make(strategy="gamma", con_id=SPY, mode="live", side="SELL", shares="1", price="1", executed_at=at(4))
    position_make(symbol="SPY", con_id=SPY, quantity="-5", market_price=Decimal("99"))
    for day, value in ((2, "1000"), (3, "1100"), (4, "1045")):
        EquitySnapshot.objects.create(
            mode="paper", taken_at=at(day, 20), net_liquidation=Decimal(value), currency="USD", reason="minute",
            daily_pnl=Decimal("1.5"),
        )  # fmt: skip


def test_it_answers_the_profit_table_and_the_metrics(bob_api, history):
    body = bob_api.get("/api/performance?since=2026-03-02&until=2026-03-04").json()
    assert body["zone"] == "America/New_York"
    # beta opened a short on the 3rd but realized nothing, and its unrealized P&L belongs to today: no row
    rows = {(p["start"], p["strategy"]): p for p in body["periods"]}
    assert set(rows) == {("2026-03-03", "alpha"), ("2026-03-04", "alpha")}
    assert rows[("2026-03-03", "alpha")] == {
        "start": "2026-03-03", "strategy": "alpha", "realized": 98.0, "unrealized": 0.0, "commission": 2.0,
        "trades": 1, "wins": 1, "losses": 0,
    }  # fmt: skip
    assert rows[("2026-03-04", "alpha")]["realized"] == -8.8 and rows[("2026-03-04", "alpha")]["losses"] == 1
    m = body["metrics"]
    assert (m["trades"], m["wins"], m["losses"], m["win_rate"]) == (2, 1, 1, 0.5)
    assert (m["average_win"], m["average_loss"]) == (98.0, -8.8)
    # closes 1000, 1100, 1045: returns +0.10, −0.05; drawdown 55 = 5 % of 1100
    assert m["max_drawdown"] == 55.0 and m["max_drawdown_fraction"] == 0.05 and m["days"] == 2
    assert m["sharpe"] == pytest.approx(3.7417, abs=1e-3)  # 0.025 / 0.106066 × √252
    assert m["sortino"] == pytest.approx(11.2250, abs=1e-3)  # 0.025 / √(0.05² / 2) × √252


def test_unrealized_sits_on_todays_row_and_a_strategy_filter_keeps_only_its_rows(bob_api, history):
    body = bob_api.get("/api/performance?strategy=beta").json()
    [row] = body["periods"]
    assert row["strategy"] == "beta" and row["unrealized"] == 9.0  # 5 × (101 − 99) − 1.0 opening commission
    assert row["realized"] == 0.0 and body["metrics"]["trades"] == 0
    assert body["metrics"]["max_drawdown_fraction"] is None


def test_weeks_and_months_add_the_days_up(bob_api, history):
    months = bob_api.get("/api/performance?period=month&until=2026-03-31").json()["periods"]
    assert [(p["start"], p["strategy"], p["realized"], p["trades"]) for p in months] == [("2026-03-01", "alpha", 89.2, 2)]
    weeks = bob_api.get("/api/performance?period=week&until=2026-03-31").json()["periods"]
    assert [(p["start"], p["realized"]) for p in weeks] == [("2026-03-02", 89.2)]


def test_another_mode_is_asked_for_by_name(bob_api, history):
    body = bob_api.get("/api/performance?mode=live").json()
    assert body["periods"] == [] and body["metrics"]["trades"] == 0


@pytest.mark.parametrize(
    ("query", "status", "code", "detail"),
    [
        ("period=year", 422, "validation_error", "the request does not match the schema (see `errors`)"),
        ("since=2026-02-30", 422, "validation_error", "the request does not match the schema (see `errors`)"),
        ("until=1772400000", 422, "validation_error", "the request does not match the schema (see `errors`)"),
        (
            "since=2026-03-05&until=2026-03-04", 400, "bad_request",
            "`since` (2026-03-05) is after `until` (2026-03-04): give a range that starts on or before its end",
        ),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_with_a_precise_message(bob_api, query, status, code, detail):
    for path in ("/api/performance", "/api/performance/equity"):
        if "period" in query and path.endswith("equity"):
            continue
        response = bob_api.get(f"{path}?{query}")
        assert response.status_code == status, response.content
        body = response.json()
        assert (body["error"], body["detail"]) == (code, detail)
        if status == 422:
            assert body["errors"][0]["loc"][-1] in ("period", "since", "until")


def test_it_needs_credentials(client):
    assert client.get("/api/performance").status_code == 401


def test_the_equity_curve_is_columns_cut_in_display_zone_days(bob_api, history):
    # 20:00 UTC on 4 March is 15:00 EST; a point at 03:00 UTC on the 5th is still 4 March in New York
    EquitySnapshot.objects.create(mode="paper", taken_at=at(5, 3), net_liquidation=Decimal("1050"), currency="USD", reason="fill")
    body = bob_api.get("/api/performance/equity?since=2026-03-03&until=2026-03-04").json()
    assert body["zone"] == "America/New_York" and body["currency"] == "USD"
    assert body["net_liquidation"] == [1100.0, 1045.0, 1050.0]
    assert body["t"] == [at(3, 20).timestamp(), at(4, 20).timestamp(), at(5, 3).timestamp()]
    assert body["daily_pnl"] == [1.5, 1.5, None] and body["resolution"] == ["minute"] * 3


def _csv(response) -> list[list[str]]:
    import csv
    import io

    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_round_trips_list_each_closed_trip_with_its_prices_and_pnl(bob_api, history):
    trips = bob_api.get("/api/performance/round-trips?since=2026-03-02&until=2026-03-04").json()
    assert [(t["strategy"], t["symbol"], t["direction"], t["pnl"]) for t in trips] == [
        ("alpha", "SPY", "long", 98.0), ("alpha", "QQQ", "long", -8.8),
    ]  # fmt: skip
    assert (trips[0]["entry_price"], trips[0]["exit_price"], trips[0]["quantity"], trips[0]["commission"]) == (100, 110, 10, 2)
    assert bob_api.get("/api/performance/round-trips?until=2026-03-03").json()[0]["symbol"] == "SPY"
    assert [t["symbol"] for t in bob_api.get("/api/performance/round-trips?since=2026-03-04").json()] == ["QQQ"]


def test_round_trips_and_the_profit_table_come_as_csv_too(bob_api, history):
    rows = _csv(bob_api.get("/api/performance/round-trips?format=csv"))
    assert rows[0][:5] == ["account", "strategy", "symbol", "con_id", "direction"]
    assert rows[0][5] == "opened_at (America/New_York)"  # times in the display zone, named
    assert [(r[0], r[1], r[2], r[-1]) for r in rows[1:]] == [("", "alpha", "SPY", "98.0"), ("", "alpha", "QQQ", "-8.8")]
    assert rows[1][5].startswith("2026-03-02T10:00:00-05:00")
    table = _csv(bob_api.get("/api/performance?since=2026-03-02&until=2026-03-04", HTTP_ACCEPT="text/csv"))
    assert table[0] == ["start", "strategy", "realized", "unrealized", "commission", "trades", "wins", "losses"]
    assert sorted((r[0], r[1], r[2]) for r in table[1:]) == [("2026-03-03", "alpha", "98.0"), ("2026-03-04", "alpha", "-8.8")]
    assert bob_api.get("/api/performance?format=xlsx").status_code == 422


@pytest.fixture
def two_accounts():
    """DU1 buys 10 SPY at 100 and sells them at 110 (+100); DU2 sells 10 SPY at 105 (a short it still holds).
    Equity: DU1 1000 → 1100 → 1050; DU2 from the 3rd only: 500 → 550."""
    fill_make(account="DU1", con_id=SPY, side="BUY", shares="10", price="100", executed_at=at(2))
    fill_make(account="DU2", con_id=SPY, side="SELL", shares="10", price="105", executed_at=at(2, 16))
    fill_make(account="DU1", con_id=SPY, side="SELL", shares="10", price="110", executed_at=at(3))
    for account, day, value in (("DU1", 2, "1000"), ("DU1", 3, "1100"), ("DU2", 3, "500"), ("DU1", 4, "1050"), ("DU2", 4, "550")):
        EquitySnapshot.objects.create(
            mode="paper", account=account, taken_at=at(day, 20), net_liquidation=Decimal(value), currency="USD",
            reason="minute", daily_pnl=Decimal("1"),
        )  # fmt: skip


def test_each_accounts_lots_are_its_own_and_one_account_is_asked_for_by_name(bob_api, two_accounts):
    # DU2's sale opens DU2's short: it does not close DU1's long (one book per account, strategy and contract)
    trips = bob_api.get("/api/performance/round-trips").json()
    assert [(t["account"], t["direction"], t["pnl"]) for t in trips] == [("DU1", "long", 100.0)]
    assert bob_api.get("/api/performance/round-trips?account=DU2").json() == []
    du1 = bob_api.get("/api/performance?account=DU1&until=2026-03-04").json()["metrics"]
    # DU1 alone: closes 1000, 1100, 1050 — returns +0.10, −0.0455; drawdown 50
    assert (du1["trades"], du1["days"], du1["max_drawdown"]) == (1, 2, 50.0)


def test_all_accounts_sum_their_equity_and_a_new_accounts_first_close_is_not_a_return(bob_api, two_accounts):
    curve = bob_api.get("/api/performance/equity?since=2026-03-02&until=2026-03-04").json()
    # each point: every account's latest value so far, summed (DU2 counts from its first point on)
    assert curve["net_liquidation"] == [1000.0, 1100.0, 1600.0, 1550.0, 1600.0]
    assert curve["daily_pnl"] == [1.0, 1.0, 2.0, 2.0, 2.0]
    assert bob_api.get("/api/performance/equity?account=DU2").json()["net_liquidation"] == [500.0, 550.0]
    metrics = bob_api.get("/api/performance?until=2026-03-04").json()["metrics"]
    # returns: 2 → 3 March over DU1 only (+0.10: DU2's 500 arriving is not a gain), 3 → 4 over both (+0 %)
    assert metrics["days"] == 2
    assert metrics["sharpe"] == pytest.approx(0.05 / (0.1 / 2**0.5) * 252**0.5, abs=1e-3)


def test_accounts_of_different_currencies_are_not_summed(bob_api, two_accounts):
    EquitySnapshot.objects.filter(account="DU2").update(currency="EUR")
    for path in ("/api/performance/equity", "/api/performance"):
        response = bob_api.get(path)
        assert response.status_code == 400, response.content
        assert response.json()["detail"] == (
            "the accounts report net liquidation in different currencies (EUR, USD): they cannot be summed; choose one account"
        )
    assert bob_api.get("/api/performance/equity?account=DU2").json()["currency"] == "EUR"
