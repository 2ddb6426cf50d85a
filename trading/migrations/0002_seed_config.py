"""Seed the configuration the seed system (004) ran with: paper mode, trading disabled, exposure 0.9,
strategies testsignalgenerator and spy_macd_vixy at 1.0, market data type 2 (frozen)."""

from decimal import Decimal

from django.db import migrations

COMMON = {
    "active_mode": "paper",
    "trading_enabled": False,  # new installs start with the kill switch on
    "soft_stop": False,
    "market_data_type": 2,
    "account": None,
    "overall_exposure": Decimal("0.9"),
    "default_order_type": "MKT",
    "default_tif": "DAY",
    "max_order_quantity": 1000,
    "max_order_notional": Decimal("250000"),
    "allowed_symbols": None,
    "daily_loss_limit": Decimal("5000"),
    "max_gross_exposure": None,
    "cash_balancer_threshold": Decimal("1000"),
    "enforce_flat_eod": False,
    "flatten_unowned_positions": False,
    "what_if_check": False,
}

STRATEGIES = [
    ("testsignalgenerator", "SPY 30-minute MACD level signal (seed test strategy)"),
    ("spy_macd_vixy", "SPY daily MACD crossover regime, VIXY hedge when bearish"),
]


def seed(apps, schema_editor):
    TradingConfig = apps.get_model("trading", "TradingConfig")
    Strategy = apps.get_model("trading", "Strategy")
    TradingConfig.objects.get_or_create(scope="common", defaults=COMMON)
    TradingConfig.objects.get_or_create(scope="paper")
    # Live starts with its own kill switch on, so switching the active mode alone never trades live.
    TradingConfig.objects.get_or_create(scope="live", defaults={"trading_enabled": False})
    for strategy_id, description in STRATEGIES:
        Strategy.objects.get_or_create(
            strategy_id=strategy_id, defaults={"description": description, "enabled": True, "exposure": Decimal("1.0")}
        )


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
