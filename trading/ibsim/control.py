"""A tiny line-based control port for a gateway run as a command (``--control-port N``).

Connect with ``nc 127.0.0.1 N`` (or any socket), send one command per line, get one line back:
``OK <json>`` or ``ERR <reason>``. Listens on the gateway's host (127.0.0.1 by default) only.

Commands::

    status | positions | orders | executions | quote SYM | help
    set_price SYM PRICE           move_price SYM DELTA | move_price SYM 1.5%
    step [N]                      tick_interval SECONDS
    close                         open
    clock open|close|now [YYYYMMDD]   (with --calendar: move the gateway's clock)
    partial_fills N               reject_next [COUNT] [CODE] [MESSAGE...]
    external_trade SYM QTY [PRICE] [no_exec]
    drop                          restart [SECONDS]
    delay SECONDS                 pacing [COUNT]
    rate_limit N|off              connectivity_lost [SECONDS] [lost]
    save
"""

from __future__ import annotations

import asyncio
import json
import logging

log = logging.getLogger("trading.ibsim")

HELP = __doc__.split("Commands::", 1)[1].strip()


def _reject_next(gateway, count="1", code="201", *words):
    message = " ".join(words) or None
    if message:
        gateway.reject_next_order(int(count), int(code), message)
    else:
        gateway.reject_next_order(int(count), int(code))


def _move_price(gateway, symbol, amount):
    if amount.endswith("%"):
        return gateway.move_price(symbol, percent=float(amount[:-1]))
    return gateway.move_price(symbol, delta=float(amount))


def _external_trade(gateway, symbol, quantity, *rest):
    with_execution = "no_exec" not in rest
    prices = [float(p) for p in rest if p != "no_exec"]
    return gateway.external_trade(symbol, float(quantity), prices[0] if prices else None, with_execution)


def _rate_limit(gateway, value):
    gateway.set_message_rate_limit(None if value.lower() in ("off", "0", "none") else int(value))


COMMANDS = {
    "help": lambda gw: HELP,
    "status": lambda gw: gw.status(),
    "positions": lambda gw: gw.positions(),
    "orders": lambda gw: gw.open_orders(),
    "executions": lambda gw: gw.executions(),
    "quote": lambda gw, symbol: gw.quote(symbol),
    "set_price": lambda gw, symbol, price: gw.set_price(symbol, float(price)),
    "move_price": _move_price,
    "step": lambda gw, steps="1": gw.step_market(int(steps)),
    "close": lambda gw: gw.market_close(),
    "open": lambda gw: gw.market_open(),
    "clock": lambda gw, moment, day=None: gw.set_clock(moment, day),
    "tick_interval": lambda gw, seconds: gw.set_tick_interval(float(seconds)),
    "partial_fills": lambda gw, slices: gw.set_partial_fills(int(slices)),
    "reject_next": _reject_next,
    "external_trade": _external_trade,
    "drop": lambda gw: gw.drop_connections(),
    "delay": lambda gw, seconds: gw.set_reply_delay(float(seconds)),
    "pacing": lambda gw, count="1": gw.inject_pacing_violation(int(count)),
    "rate_limit": _rate_limit,
    "save": lambda gw: gw.save_state(),
}


async def execute(gateway, line: str) -> str:
    """Run one command line and return the reply line (without the newline)."""
    words = line.split()
    if not words:
        return "ERR empty command"
    name, args = words[0].lower(), words[1:]
    try:
        if name in COMMANDS:
            result = COMMANDS[name](gateway, *args)
        elif name == "restart":
            result = await gateway.restart(float(args[0]) if args else 5.0)
        elif name == "connectivity_lost":
            # answers at once; the outage runs on in the background
            seconds = float(args[0]) if args else 5.0
            asyncio.get_running_loop().create_task(gateway.connectivity_lost(seconds, "lost" in args[1:]))
            result = None
        else:
            return f"ERR unknown command {name!r} (try: help)"
    except (TypeError, ValueError, KeyError) as exc:
        return f"ERR {name}: {exc}"
    return "OK " + json.dumps(result, default=str)


async def _serve(gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while line := await reader.readline():
            reply = await execute(gateway, line.decode(errors="replace"))
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def start_control_server(gateway, host: str, port: int) -> asyncio.AbstractServer:
    server = await asyncio.start_server(lambda r, w: _serve(gateway, r, w), host, port)
    log.info("control port listening on %s:%s", host, server.sockets[0].getsockname()[1])
    return server
