"""Settings of one paper gateway, with defaults that suit both a demo and the tests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GatewayConfig:
    """How the paper gateway listens, prices, fills and reports.

    ``tick_interval`` is seconds between random-walk steps (0 freezes prices: only
    ``set_price``/``move_price`` move them); ``seconds_per_step`` is how much market time one step
    represents, which scales its volatility. ``partial_fills`` splits every order into that many
    fills, ``slice_interval`` seconds apart (per order: ``orderMiscOptions`` tag ``ibsim_slices``).
    """

    host: str = "127.0.0.1"
    port: int = 4002
    seed: int = 1
    account_id: str = "DU1234567"
    state_file: str | None = None
    master_client_id: int | None = None
    control_port: int | None = None
    tick_interval: float = 0.25
    seconds_per_step: float = 5.0
    partial_fills: int = 1
    fill_delay: float = 0.0
    slice_interval: float = 0.05
    realtime_bar_seconds: float = 5.0
    pnl_interval: float = 1.0
    account_update_interval: float = 10.0
    save_interval: float = 1.0
    calendar: str | None = None  # an exchange calendar (XNYS): real sessions, holidays, early closes
