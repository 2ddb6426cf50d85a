"""The admin is the console's primary control surface (switches, strategies, records, tokens)."""

from trading.admin import backtests, config, connections, intents, notify, records, runs, schedules, tokens  # noqa: F401
