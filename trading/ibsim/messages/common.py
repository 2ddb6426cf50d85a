"""Outgoing connection-level messages: errors and notices, ids, accounts, time."""

from __future__ import annotations

from trading.ibsim.protocol import Out, encode

NO_REQ_ID = -1

# What a healthy IB Gateway says right after startApi: "error" messages that are really notices.
FARM_NOTICES = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)


def error(req_id: int, code: int, message: str, version: int) -> bytes:
    """An error or notice; server version 166 added the advancedOrderRejectJson field."""
    if version >= 166:
        return encode(Out.ERR_MSG, 2, req_id, code, message, "")
    return encode(Out.ERR_MSG, 2, req_id, code, message)


def managed_accounts(accounts: list[str]) -> bytes:
    return encode(Out.MANAGED_ACCTS, 1, ",".join(accounts))


def next_valid_id(order_id: int) -> bytes:
    return encode(Out.NEXT_VALID_ID, 1, order_id)


def current_time(epoch: int) -> bytes:
    return encode(Out.CURRENT_TIME, 1, epoch)


def user_info(req_id: int) -> bytes:
    return encode(Out.USER_INFO, req_id, "")
