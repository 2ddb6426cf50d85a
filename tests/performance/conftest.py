"""Performance tests borrow the intent tests' switch fixture (kill switch off, real runs)."""

from tests.intents.conftest import trading_enabled  # noqa: F401 (a fixture)
