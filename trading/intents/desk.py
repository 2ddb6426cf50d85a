"""The order ticket's desk inside the IB worker: quotes and previews, answered, nothing recorded.

The web process never talks to IB. The dashboard's `order.quote` and `order.preview` reach the
worker as commands on its channel (`trading.live.worker_request`), each with a `reply_to` channel
and a `deadline`; this extension answers each on its own task (the worker's command loop and its
event loop never wait on IB for it) with one `trading.live.worker_reply`:

    {"ok": true, "message": "...", "quote": {...}}          order.quote
    {"ok": true, "message": "...", "preview": {...}}        order.preview
    {"ok": false, "error": "<code>", "message": "..."}      either, when it cannot answer

A preview runs place_order's own sizing and order building, and the order gateway's own checks and
IB's what-if (`OrderGateway.preview`) under a transient run that is never saved: it records nothing
and sends nothing. A command whose deadline has passed is dropped (nobody waits for it any more).
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime
from types import SimpleNamespace

from pydantic import ValidationError

from trading.config import effective_config
from trading.intents.builtin.place_order import PlaceOrder, contract_of, order_quantity, order_terms, sizing_of
from trading.intents.context import IntentContext, IntentError
from trading.intents.orders import OrderGateway
from trading.live import worker_reply, worker_request_expired
from trading.models import IntentRun

log = logging.getLogger("trading.intents.desk")

SNAPSHOT_WAIT = 3.0  # seconds for IB's market data snapshot: well inside the web's QUOTE_TIMEOUT
NOT_CONNECTED = "the IB worker is not connected to the gateway: no quote or preview until it is"
UNKNOWN_CONTRACT = "IB does not know {symbol} ({sec_type})"
QUOTED = "{symbol}: bid {bid}, ask {ask}, last {last}"
PREVIEWED = "{action} {quantity:g} {symbol}: {verdict}"
WOULD_SEND = "every check passes, it would be sent"
WOULD_REFUSE = "refused by {rules}"
FAILED = "the worker could not answer ({error}): see the worker log"


class ContractUnknown(IntentError):
    """IB has no contract for what the ticket asked about."""


class OrderDesk:
    """A worker extension (see IBWorker.extensions): answers `order.quote` and `order.preview`."""

    def __init__(self):
        self.worker = None
        self._tasks: set[asyncio.Task] = set()

    async def on_connected(self, worker) -> None:
        self.worker = worker

    async def on_stop(self, worker) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def on_command(self, message: dict) -> None:
        answer = {"order.quote": self.quote, "order.preview": self.preview}.get(message.get("type"))
        if answer is None or not isinstance(message.get("reply_to"), str) or worker_request_expired(message):
            return
        task = asyncio.create_task(self._answer(answer, message), name=f"desk-{message['type']}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, answer, message: dict) -> None:
        try:
            if self.worker is None or not self.worker.synced or not self.worker.ib.isConnected():
                reply = _refusal("worker_unavailable", NOT_CONNECTED)
            else:
                reply = await answer(message)
        except ContractUnknown as exc:
            reply = _refusal("contract_unknown", str(exc))
        except IntentError as exc:  # e.g. no price to size a notional order: the trader's to fix
            reply = _refusal("not_possible", str(exc))
        except Exception as exc:
            log.warning("order desk: %s failed: %s: %s", message.get("type"), type(exc).__name__, exc)
            reply = _refusal("server_error", FAILED.format(error=type(exc).__name__))
        if worker_request_expired(message):
            return
        try:
            await worker_reply(message, reply)
        except Exception as exc:  # the web stops waiting at its timeout and says the worker is unavailable
            log.warning("order desk: reply not sent: %s: %s", type(exc).__name__, exc)

    async def quote(self, message: dict) -> dict:
        """Bid, ask and last from a market data snapshot, in the settings' market data type."""
        ib = self.worker.ib
        config = await self.worker.db(effective_config, self.worker.mode, account=self.worker.options.account or None)
        contract = await self._qualified(message)
        ib.reqMarketDataType(config.market_data_type)
        try:
            tickers = await asyncio.wait_for(ib.reqTickersAsync(contract), SNAPSHOT_WAIT)
        except TimeoutError:
            tickers = []
        ticker = tickers[0] if tickers else None
        bid, ask, last = (_price(getattr(ticker, name, None)) for name in ("bid", "ask", "last"))
        quote = {
            "symbol": message.get("symbol", contract.symbol), "bid": bid, "ask": ask, "last": last,
            "mid": (bid + ask) / 2 if bid is not None and ask is not None else None,
            "time": (getattr(ticker, "time", None) or datetime.now(UTC)).isoformat(),
        }  # fmt: skip
        text = QUOTED.format(symbol=quote["symbol"], bid=_show(bid), ask=_show(ask), last=_show(last))
        return {"ok": True, "message": text, "quote": quote}

    async def preview(self, message: dict) -> dict:
        """place_order's sizing and orders, and the gateway's checks and IB's what-if: nothing recorded."""
        try:
            params = PlaceOrder.Params.model_validate(message.get("params") or {})
        except ValidationError as exc:  # the web validated them already: this is only a guard
            return _refusal("params_invalid", str(exc).splitlines()[0])
        ctx = await self._transient_context(params, account=str(message.get("account") or ""))
        contract = await self._qualified(params.model_dump())
        quantity, price_used = await order_quantity(ctx, contract, params)
        preview = await ctx.orders.preview(contract=contract, **order_terms(params, quantity))
        preview = {"quantity": quantity, "price_used": price_used, "sizing": sizing_of(params), **preview}
        refused = [check["rule"] for check in preview["checks"] if not check["ok"]]
        verdict = WOULD_SEND if preview["would_send"] else WOULD_REFUSE.format(rules=", ".join(refused))
        text = PREVIEWED.format(action=params.action, quantity=quantity, symbol=contract.symbol, verdict=verdict)
        return {"ok": True, "message": text, "preview": preview}

    async def _transient_context(self, params, *, account: str = "") -> IntentContext:
        """An IntentContext for a run that never exists: the IntentRun is built, never saved (no id). Its
        account is the one the ticket is for (the web resolved it), else the one this connection trades."""
        worker = self.worker
        config = await worker.db(effective_config, worker.mode, account=account or worker.options.account or None)
        run = IntentRun(
            intent=PlaceOrder.name, params=params.model_dump(mode="json"), dry_run=True, mode=config.mode, account=account
        )
        ctx = IntentContext(ib=worker.ib, run=run, config=config, worker=worker)
        ctx.orders = OrderGateway(ctx, allowed_when_killed=PlaceOrder.allowed_when_killed)
        return ctx

    async def _qualified(self, message: dict):
        wanted = SimpleNamespace(
            symbol=str(message.get("symbol") or ""), sec_type=message.get("sec_type") or "STK",
            exchange=message.get("exchange") or None, currency=message.get("currency") or "USD",
        )  # fmt: skip
        contract = contract_of(wanted)
        await self.worker.ib.qualifyContractsAsync(contract)
        if not contract.conId:
            raise ContractUnknown(UNKNOWN_CONTRACT.format(symbol=wanted.symbol, sec_type=wanted.sec_type))
        return contract


def _refusal(code: str, message: str) -> dict:
    return {"ok": False, "error": code, "message": message}


def _price(value) -> float | None:
    return float(value) if value is not None and not math.isnan(value) and value > 0 else None


def _show(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"
