"""Connection-level requests: startApi, ids, time, accounts, market data type, user info."""

from __future__ import annotations

import time

from trading.ibsim.messages import common


def start_api(session, r) -> None:
    r.skip()  # version
    session.start_api(r.integer())


def req_ids(session, r) -> None:
    session.send_raw(common.next_valid_id(session.gateway.broker.next_valid_id(session.client_id)))


def req_current_time(session, r) -> None:
    session.send_raw(common.current_time(int(time.time())))


def req_managed_accounts(session, r) -> None:
    session.send_raw(common.managed_accounts([session.gateway.account.account_id]))


def req_market_data_type(session, r) -> None:
    """Remembered and echoed per subscription. Real-time data is always available here, so
    delayed (3) is answered as real-time (1) and delayed-frozen (4) as frozen (2), like TWS does
    for a user with live subscriptions."""
    r.skip()
    requested = r.integer(1)
    session.market_data_type = {3: 1, 4: 2}.get(requested, requested)


def req_user_info(session, r) -> None:
    session.send_raw(common.user_info(r.integer()))
