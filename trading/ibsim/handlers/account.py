"""Account requests: positions, account updates (single and multi), account summary, P&L.

All of them are subscriptions at IB: after the first answer (and its end marker) the gateway keeps
sending changes - positions and portfolio rows after every fill, account values and P&L
periodically - until the matching cancel arrives.
"""

from __future__ import annotations

from trading.ibsim import reports
from trading.ibsim.messages import account as msg


def req_positions(session, r) -> None:
    session.wants_positions = True
    gateway = session.gateway
    session.send_many(reports.positions(gateway.account, gateway.universe))


def cancel_positions(session, r) -> None:
    session.wants_positions = False


def req_account_updates(session, r) -> None:
    """reqAccountUpdates(True, account): a full download ending in accountDownloadEnd, then updates."""
    r.skip()
    subscribe = r.flag()
    session.wants_account_updates = subscribe
    if subscribe:
        gateway = session.gateway
        session.send_many(reports.account_download(gateway.account, gateway.universe))


def req_account_updates_multi(session, r) -> None:
    r.skip()
    req_id = r.integer()
    r.text()  # account
    r.text()  # modelCode
    ledger_and_nlv = r.flag()
    session.account_multi.add(req_id)
    session.send_many(reports.account_multi(session.gateway.account, req_id, ledger_and_nlv))
    session.send_raw(msg.account_update_multi_end(req_id))


def cancel_account_updates_multi(session, r) -> None:
    r.skip()
    session.account_multi.discard(r.integer())


def req_positions_multi(session, r) -> None:
    r.skip()
    req_id = r.integer()
    gateway = session.gateway
    session.positions_multi.add(req_id)
    session.send_many(reports.positions_multi(gateway.account, gateway.universe, req_id))
    session.send_raw(msg.position_multi_end(req_id))


def cancel_positions_multi(session, r) -> None:
    r.skip()
    session.positions_multi.discard(r.integer())


def req_account_summary(session, r) -> None:
    """reqAccountSummary(reqId, group, tags): the tags asked for (incl. $LEDGER[:CCY|:ALL]), then the end."""
    r.skip()
    req_id = r.integer()
    r.text()  # group: there is one account, so "All" and any group name mean it
    tags = r.text()
    session.account_summaries[req_id] = tags
    session.send_many(reports.account_summary(session.gateway.account, req_id, tags))
    session.send_raw(msg.account_summary_end(req_id))


def cancel_account_summary(session, r) -> None:
    r.skip()
    session.account_summaries.pop(r.integer(), None)


def req_pnl(session, r) -> None:
    req_id = r.integer()
    session.pnl_requests.add(req_id)
    session.send_raw(msg.pnl(req_id, *session.gateway.account.pnl()))


def cancel_pnl(session, r) -> None:
    session.pnl_requests.discard(r.integer())


def req_pnl_single(session, r) -> None:
    req_id = r.integer()
    r.text()  # account
    r.text()  # modelCode
    con_id = r.integer()
    session.pnl_single[req_id] = con_id
    session.send_raw(msg.pnl_single(req_id, session.gateway.account.pnl_single(con_id)))


def cancel_pnl_single(session, r) -> None:
    session.pnl_single.pop(r.integer(), None)
