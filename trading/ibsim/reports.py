"""Account reports as ready-to-send message lists, shared by request handlers and live updates."""

from __future__ import annotations

import time

from trading.ibsim.accounts import LEDGER_TAGS, Account, Position
from trading.ibsim.contracts import Universe
from trading.ibsim.messages import account as msg


def portfolio_row(account: Account, pos: Position) -> tuple[float, float, float, float, float, float]:
    """(position, market price, market value, average cost, unrealized P&L, realized P&L)."""
    mark = account.market.mark(pos.con_id)
    return (pos.quantity, mark, account.market_value(pos), pos.avg_cost, account.unrealized(pos), pos.realized_pnl)


def positions(account: Account, universe: Universe) -> list[bytes]:
    out = [
        msg.position(account.account_id, universe.by_con_id[p.con_id], p.quantity, p.avg_cost)
        for p in account.open_positions()
    ]
    out.append(msg.position_end())
    return out


def position_update(account: Account, universe: Universe, con_id: int) -> bytes:
    pos = account.positions.get(con_id) or Position(con_id)
    return msg.position(account.account_id, universe.by_con_id[con_id], pos.quantity, pos.avg_cost)


def account_values(account: Account) -> list[bytes]:
    acct = account.account_id
    return [
        msg.account_value(acct, key, value, currency) for key, value, currency in account.account_values()
    ]


def portfolio(account: Account, universe: Universe, con_ids=None) -> list[bytes]:
    """updatePortfolio rows: every open position, or the given conIds (a closed one is sent as 0)."""
    if con_ids is None:
        holdings = account.open_positions()
    else:
        holdings = [account.positions.get(c) or Position(c) for c in con_ids]
    return [
        msg.portfolio(account.account_id, universe.by_con_id[p.con_id], portfolio_row(account, p))
        for p in holdings
    ]


def with_open(account: Account, con_ids) -> list[int]:
    """The changed conIds (a closed one is reported as 0) and every other open position, so a refresh
    after a fill values the whole portfolio at the marks its account values used."""
    return sorted(set(con_ids) | {p.con_id for p in account.open_positions()})


def account_download(account: Account, universe: Universe) -> list[bytes]:
    """The answer to reqAccountUpdates(True): values, portfolio, time, then accountDownloadEnd."""
    out = account_values(account) + portfolio(account, universe)
    out.append(msg.account_time(time.strftime("%H:%M")))
    out.append(msg.account_download_end(account.account_id))
    return out


def account_refresh(account: Account, universe: Universe, con_ids=None) -> list[bytes]:
    """A live update to an account-updates subscriber (IB sends these without an end marker)."""
    return (
        account_values(account)
        + portfolio(account, universe, con_ids)
        + [msg.account_time(time.strftime("%H:%M"))]
    )


def account_multi(account: Account, req_id: int, ledger_and_nlv: bool = False) -> list[bytes]:
    rows = account.account_values()
    if ledger_and_nlv:  # only the per-currency ledger and the net liquidation value
        rows = [row for row in rows if row[0] in LEDGER_TAGS or row[0] in ("Currency", "NetLiquidation")]
    return [msg.account_update_multi(req_id, account.account_id, *row) for row in rows]


def positions_multi(account: Account, universe: Universe, req_id: int, con_ids=None) -> list[bytes]:
    """positionMulti rows: every open position, or the given conIds (a closed one is sent as 0)."""
    if con_ids is None:
        holdings = account.open_positions()
    else:
        holdings = [account.positions.get(c) or Position(c) for c in con_ids]
    acct = account.account_id
    return [
        msg.position_multi(req_id, acct, universe.by_con_id[p.con_id], p.quantity, p.avg_cost)
        for p in holdings
    ]


def account_summary(account: Account, req_id: int, tags: str) -> list[bytes]:
    acct = account.account_id
    return [
        msg.account_summary(req_id, acct, tag, value, currency)
        for tag, value, currency in account.summary(tags)
    ]
