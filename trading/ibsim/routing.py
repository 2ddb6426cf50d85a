"""Who hears about what: the broker's events fanned out to client sessions the way IB routes them.

- An API order's openOrder/orderStatus/execDetails/commissionReport go to the client id that
  placed it and to the master client id (if one is configured and connected).
- A manual (TWS) order goes to the master client and to client 0 if it called
  reqAutoOpenOrders(True).
- Order errors (rejects, 202 cancel notices, 10147...) go only to the placing client.
- A position change goes, batched once per event-loop iteration, to every client subscribed to
  positions, account updates (account values and the whole portfolio, valued at the same marks, so
  the two agree after every fill), positions-multi, account-updates-multi and account summary (IB
  refreshes a summary subscription when a fill changes the account, not only on its 3-minute clock).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from trading.ibsim import reports
from trading.ibsim.messages import orders as msg
from trading.ibsim.orders import ExecutionRecord, OrderRecord

if TYPE_CHECKING:
    from trading.ibsim.server import PaperGateway

LIVE_FILL_REQ_ID = -1


class Router:
    """The broker's Notifier: turns order and account events into messages for sessions."""

    def __init__(self, gateway: PaperGateway) -> None:
        self.gateway = gateway
        self._changed_con_ids: set[int] = set()
        self._flush_scheduled = False

    def _recipients(self, order: OrderRecord) -> list:
        clients = self.gateway.clients
        found = []
        owner = None if order.manual else clients.get(order.client_id)
        if owner is not None:
            found.append(owner)
        master_id = self.gateway.config.master_client_id
        master = clients.get(master_id) if master_id is not None else None
        if master is not None and master is not owner:
            found.append(master)
        tws = clients.get(0)
        if order.manual and tws is not None and tws.auto_open_orders and tws not in found:
            found.append(tws)
        return [s for s in found if s.is_ready]

    def _inst(self, con_id: int):
        return self.gateway.universe.by_con_id[con_id]

    def order_changed(self, order: OrderRecord) -> None:
        inst = self._inst(order.con_id)
        status = msg.order_status(order)
        for session in self._recipients(order):
            session.send_raw(msg.open_order(order, inst, session.server_version))
            session.send_raw(status)

    def order_error(self, client_id: int, order_id: int, code: int, message: str) -> None:
        session = self.gateway.clients.get(client_id)
        if session is not None and session.is_ready:
            session.error(order_id, code, message)

    def execution(self, execution: ExecutionRecord, order: OrderRecord) -> None:
        data = msg.exec_details(LIVE_FILL_REQ_ID, execution, self._inst(execution.con_id))
        for session in self._recipients(order):
            session.send_raw(data)

    def commission(self, execution: ExecutionRecord, order: OrderRecord) -> None:
        data = msg.commission_report(execution)
        for session in self._recipients(order):
            session.send_raw(data)

    def portfolio_changed(self, con_id: int) -> None:
        self._changed_con_ids.add(con_id)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._push_account_changes)

    def _push_account_changes(self) -> None:
        self._flush_scheduled = False
        con_ids, self._changed_con_ids = sorted(self._changed_con_ids), set()
        gateway = self.gateway
        account, universe = gateway.account, gateway.universe
        for session in list(gateway.clients.values()):
            if not session.is_ready:
                continue
            if session.wants_positions:
                session.send_many([reports.position_update(account, universe, c) for c in con_ids])
            if session.wants_account_updates:
                session.send_many(reports.account_refresh(account, universe, reports.with_open(account, con_ids)))
            for req_id in session.positions_multi:
                session.send_many(reports.positions_multi(account, universe, req_id, con_ids))
            for req_id in session.account_multi:
                session.send_many(reports.account_multi(account, req_id))
            for req_id, tags in session.account_summaries.items():
                session.send_many(reports.account_summary(account, req_id, tags))
