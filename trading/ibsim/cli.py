"""``python -m trading.ibsim`` / ``python manage.py ibsim``: run a paper gateway until interrupted.

Prints one line ``ibsim ready port=<port> control_port=<port|none>`` once it accepts connections
(handy with ``--port 0``), saves ``--state`` on exit, and stops cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from trading.ibsim.config import GatewayConfig
from trading.ibsim.server import PaperGateway


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The gateway's options; shared with the Django management command."""
    defaults = GatewayConfig()
    parser.add_argument("--host", default=defaults.host, help="interface to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TWS API port (default 4002; 0 = any free)"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of prices and history")
    parser.add_argument("--state", dest="state_file", help="JSON file to restore from and save to")
    parser.add_argument(
        "--account", dest="account_id", default=defaults.account_id, help="paper account code"
    )
    parser.add_argument("--master-client-id", type=int, help="client id that sees every client's orders")
    parser.add_argument("--control-port", type=int, help="line-based control port on the same host")
    parser.add_argument("--tick-interval", type=float, default=defaults.tick_interval,
                        help="seconds between price steps (0 = frozen)")  # fmt: skip
    parser.add_argument("--seconds-per-step", type=float, default=defaults.seconds_per_step,
                        help="market seconds one price step represents (scales volatility)")  # fmt: skip
    parser.add_argument("--partial-fills", type=int, default=defaults.partial_fills,
                        help="fill every order in N slices")  # fmt: skip
    parser.add_argument("--account-update-interval", type=float, default=defaults.account_update_interval,
                        help="seconds between account/portfolio refreshes to subscribers")  # fmt: skip
    parser.add_argument("--calendar", default=None,
                        help="exchange calendar (e.g. XNYS): real sessions, holidays and early closes; "
                             "default: always open on weekdays, sessions moved only by the controls")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")


def config_from_options(options: dict) -> GatewayConfig:
    fields = GatewayConfig.__dataclass_fields__
    return GatewayConfig(**{k: v for k, v in options.items() if k in fields and v is not None})


async def serve(config: GatewayConfig, out=sys.stdout) -> None:
    """Run until SIGINT/SIGTERM, then stop (which saves the state file)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    gateway = await PaperGateway(config).start()
    print(
        f"ibsim ready port={gateway.port} control_port={gateway.control_port or 'none'}", file=out, flush=True
    )
    try:
        await stop.wait()
    finally:
        await gateway.stop()


def run(options: dict) -> int:
    logging.basicConfig(
        level=str(options.get("log_level") or "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    asyncio.run(serve(config_from_options(options)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trading.ibsim", description="Paper IB Gateway (TWS API)."
    )
    add_arguments(parser)
    return run(vars(parser.parse_args(argv)))
