"""The paper gateway as the benchmarks run it: its own process, plus measurement hooks that change nothing.

* every quote the price loop makes is stamped ``(conId, cumulative volume, time.time())`` — the volume
  tick identifies it on the client side, and the quote's time is taken just before it is sent;
* every execution is stamped ``(execId, time.time())`` as the router sends it;
* ``--extra-stocks 50`` adds test stocks ``BN00``…``BN49``, so close_all has 50 positions to flatten.

Extra control commands: ``stamps on|off``, ``dump PATH`` (writes the stamps as JSON), ``all_orders``. Run::

    python bench/gateway_proc.py --port 0 --control-port 0 --master-client-id 1 --tick-interval 0
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trading.ibsim import cli, contracts, control, server  # noqa: E402
from trading.ibsim.market import Market  # noqa: E402
from trading.ibsim.routing import Router  # noqa: E402

STAMPS = {"on": False, "quotes": [], "executions": []}


def extra_stocks(count: int) -> tuple:
    return tuple(
        contracts._stock(9_100_000 + i, f"BN{i:02d}", "NYSE", f"Bench test stock {i}", 50.0 + i, 0.2, stock_type="COMMON")
        for i in range(count)
    )


def _install_hooks(extra: int) -> None:
    if extra:
        instruments = contracts.UNIVERSE + extra_stocks(extra)
        server.Universe = lambda: contracts.Universe(instruments)
    make_quote = Market._make_quote

    def stamped_quote(self, inst, raw, close, previous):
        quote = make_quote(self, inst, raw, close, previous)
        if STAMPS["on"] and previous is not None:
            STAMPS["quotes"].append((quote.con_id, quote.volume, quote.updated_at))
        return quote

    Market._make_quote = stamped_quote
    execution = Router.execution

    def stamped_execution(self, record, order):
        if STAMPS["on"]:
            STAMPS["executions"].append((record.exec_id, time.time()))
        return execution(self, record, order)

    Router.execution = stamped_execution

    def stamps(gateway, state="on"):
        STAMPS["on"] = state == "on"
        return {"quotes": len(STAMPS["quotes"]), "executions": len(STAMPS["executions"])}

    def dump(gateway, path):
        Path(path).write_text(json.dumps({"quotes": STAMPS["quotes"], "executions": STAMPS["executions"]}))
        STAMPS["quotes"], STAMPS["executions"] = [], []
        return path

    control.COMMANDS["stamps"] = stamps
    control.COMMANDS["all_orders"] = lambda gateway: gateway.orders()
    control.COMMANDS["dump"] = dump


if __name__ == "__main__":
    argv = sys.argv[1:]
    extra = 0
    if "--extra-stocks" in argv:
        at = argv.index("--extra-stocks")
        extra = int(argv[at + 1])
        del argv[at : at + 2]
    _install_hooks(extra)
    raise SystemExit(cli.main(argv))
