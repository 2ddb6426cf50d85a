"""`cash_balancer`: bring non-base-currency cash back under a threshold with FX conversions (FXCONV).

Exposure per currency = CashBalance × ExchangeRate (base currency), from a fresh account summary.
A currency whose |exposure| is above `cash_balancer_threshold` is converted home with one FXCONV
order of the settings' default type (market, or a limit priced from the quote): the whole balance rounded down to 1,000 units of the pair's base currency, as the seed
did, which leaves less than 1,000 units behind. Pairs are quoted IB's way (EUR.USD, USD.JPY): for
EUR the order sells EUR.USD in EUR; for JPY it buys USD.JPY in USD (the seed's "JPYUSD" pair does not
exist). FXCONV converts cash only and opens no FX position. A dry run returns the plan.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from trading.iblib import Forex
from trading.intents.account import account_snapshot
from trading.intents.base import Intent, IntentParams
from trading.intents.builtin.cancel_order import wait_done
from trading.intents.context import IntentError
from trading.intents.orders import OrderRefused
from trading.intents.registry import intent_register

LOT = 1000
FILL_WAIT = 30.0
# IB quotes a pair with the currency that comes first here as its base (EUR.USD, GBP.USD, USD.JPY, …).
PAIR_PRIORITY = ("EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "NOK", "SEK", "DKK", "JPY", "HKD", "SGD", "CNH")
REFUSED = "{count} conversion(s) refused: {reasons}"


@dataclass(frozen=True)
class Conversion:
    currency: str
    balance: float
    rate: float
    exposure: float
    pair: str
    action: str
    quantity: int


def fx_pair(currency: str, base: str) -> tuple[str, str]:
    """(pair base, pair quote) as IB quotes the pair of two currencies."""

    def rank(c: str) -> int:
        return PAIR_PRIORITY.index(c) if c in PAIR_PRIORITY else len(PAIR_PRIORITY)

    return (currency, base) if rank(currency) <= rank(base) else (base, currency)


def conversion_plan(*, balances: dict, rates: dict, base: str, threshold: float) -> tuple[list[Conversion], list[str]]:
    plan, notes = [], []
    for currency, balance in sorted(balances.items()):
        if currency == base or not balance:
            continue
        rate = rates.get(currency)
        if not rate:
            notes.append(f"{currency}: no exchange rate from IB, left alone")
            continue
        exposure = balance * rate
        if abs(exposure) <= threshold:
            continue
        pair_base, pair_quote = fx_pair(currency, base)
        if pair_base == currency:  # EUR.USD: the quantity is in EUR
            units, action = abs(balance), ("SELL" if balance > 0 else "BUY")
        else:  # USD.JPY: the quantity is in USD
            units, action = abs(exposure), ("BUY" if balance > 0 else "SELL")
        quantity = int(units // LOT) * LOT
        if not quantity:
            notes.append(f"{currency}: {units:,.2f} {pair_base} is below one lot of {LOT:,}")
            continue
        plan.append(Conversion(currency, balance, rate, exposure, f"{pair_base}{pair_quote}", action, quantity))
    return plan, notes


@intent_register
class CashBalancer(Intent):
    name = "cash_balancer"
    description = "Convert non-base-currency cash above cash_balancer_threshold home with FXCONV orders (the default order type)."
    places_orders = True
    timeout = 60.0

    class Params(IntentParams):
        pass

    async def run(self, ctx, params):
        account = await account_snapshot(ctx)
        base = account.base_currency
        threshold = float(ctx.config.cash_balancer_threshold)
        balances, rates = account.by_currency("CashBalance"), account.by_currency("ExchangeRate")
        plan, notes = conversion_plan(balances=balances, rates=rates, base=base, threshold=threshold)
        placed, refused = [], []
        for conversion in plan:
            contract = (await ctx.qualify(Forex(conversion.pair, exchange="FXCONV")))[0]
            try:
                placed.append(
                    await ctx.orders.place(
                        contract=contract,
                        action=conversion.action,
                        quantity=conversion.quantity,
                        owner=self.name,
                    )
                )
            except OrderRefused as refusal:
                refused.append(f"{conversion.pair}: {refusal}")
        if not ctx.dry_run:
            await wait_done([p.trade for p in placed], FILL_WAIT)
        if refused:
            raise IntentError(REFUSED.format(count=len(refused), reasons="; ".join(refused)))
        for note in notes:
            await ctx.log(note)
        return {
            "base_currency": base,
            "threshold": threshold,
            "exposure": {c: balances[c] * rates[c] for c in balances if c != base and c in rates},
            "plan": [asdict(c) for c in plan],
            "notes": notes,
            "sent": not ctx.dry_run and bool(placed),
            "orders": [p.as_dict() for p in placed],
        }
