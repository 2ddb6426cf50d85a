"""The client library seam (trading/iblib.py): one module imports ib_insync or ib_async, `import ib_insync`
works for users' files on either, and IB's errors about an order mean the same to the worker on both.

Run on ib_insync by the suite and on ib_async by `python3 dev.py test-ibasync`: every test here holds on both.
"""

import asyncio
import importlib
import importlib.metadata
import json
import pkgutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.harness import wait_until
from tests.worker.conftest import place_limit
from trading import iblib
from trading.handlers import load_handlers
from trading.models import Order


def test_only_the_seam_names_the_client_library():
    scan = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("library_names.py"))], capture_output=True, text=True, timeout=120
    )
    assert scan.returncode == 0, scan.stderr
    found = json.loads(scan.stdout)
    assert len(found["files"]) > 100 and "trading/worker/service.py" in found["files"]
    assert found["hits"] == []
    assert found["seam"]  # the check does see an import (the seam's own)


def test_import_ib_insync_gives_the_installed_library_and_every_submodule_once():
    assert iblib.VERSION == importlib.metadata.version(iblib.NAME)
    ib_insync = importlib.import_module("ib_insync")
    assert ib_insync is iblib.lib and ib_insync.IB is iblib.IB
    for module in pkgutil.iter_modules(iblib.lib.__path__):
        assert sys.modules[f"ib_insync.{module.name}"] is sys.modules[f"{iblib.NAME}.{module.name}"], module.name
    from ib_insync.util import UNSET_DOUBLE

    assert UNSET_DOUBLE is iblib.UNSET_DOUBLE


def test_a_users_handler_file_importing_ib_insync_loads_on_the_installed_library(tmp_path):
    (tmp_path / "uses_ib_insync.py").write_text(
        "from ib_insync import IB, Stock\n"
        "from ib_insync.util import UNSET_DOUBLE\n"
        "from trading.handlers import IBEventRegistry\n\n"
        "SPY = Stock('SPY', 'SMART', 'USD')\n\n"
        "@IBEventRegistry.collect('orderStatus')\n"
        "def on_status(ib: IB, trade):\n"
        "    pass\n"
    )
    loaded = load_handlers([str(tmp_path)])
    assert loaded.errors == () and len(loaded.handlers) == 1
    module = sys.modules[loaded.handlers[0].module]
    assert type(module.SPY) is iblib.Stock and module.UNSET_DOUBLE is iblib.UNSET_DOUBLE


def trade_in(ib, status: str, order_id: int = 7):
    """A trade the (never connected) session holds as if IB had reported it with `status`."""
    order = iblib.LimitOrder("BUY", 1, 100.0, orderId=order_id, clientId=ib.wrapper.clientId)
    trade = iblib.Trade(
        contract=iblib.Stock("SPY", "SMART", "USD"), order=order, orderStatus=iblib.OrderStatus(orderId=order_id, status=status)
    )
    ib.wrapper.trades[(ib.wrapper.clientId, order_id)] = trade
    return trade


@pytest.fixture
def session():
    ib = iblib.IB()
    ib.wrapper.clientId = 1
    ib.wrapper.lastTime = datetime.now(UTC)
    errors = []
    ib.errorEvent += lambda req_id, code, message, contract: errors.append((req_id, code))
    return ib, errors


@pytest.mark.parametrize("code", [399, 404, 434])
def test_a_warning_about_a_live_order_leaves_its_status_as_ib_reported_it(session, code):
    ib, errors = session
    trade = trade_in(ib, "PreSubmitted")
    statuses = []
    ib.orderStatusEvent += lambda t: statuses.append(t.orderStatus.status)

    ib.wrapper.error(7, code, "Order Message: held until the open", "")

    assert trade.orderStatus.status == "PreSubmitted" and trade.isActive()
    assert statuses == [] and [entry.errorCode for entry in trade.log] == []
    assert errors == [(7, code)]


def test_a_validation_error_on_a_new_order_cancels_it_as_refused(session):
    ib, errors = session
    trade = trade_in(ib, "PendingSubmit")
    cancelled = []
    trade.cancelledEvent += cancelled.append

    ib.wrapper.error(7, 321, "Error validating request.-'bN' : cause - Missing order exchange", "")

    assert trade.orderStatus.status == "Cancelled" and trade.isDone() and cancelled == [trade]
    assert trade.log[-1].errorCode == 321 and "Missing order exchange" in trade.log[-1].message
    assert errors == [(7, 321)]


def test_a_refused_modify_of_a_live_order_is_in_its_log_and_never_a_made_up_status(session):
    ib, errors = session
    trade = trade_in(ib, "Submitted")

    ib.wrapper.error(7, 105, "Order being modified does not match original order", "")

    assert trade.log[-1].errorCode == 105 and errors == [(7, 105)]
    # ib_insync (the default) takes it for a rejection and cancels the trade locally; on ib_async the seam
    # keeps ib_async's reading (IB leaves the order working) without its ValidationError status.
    assert trade.orderStatus.status == ("Cancelled" if iblib.NAME == "ib_insync" else "Submitted")


def test_a_request_ib_refuses_as_invalid_ends_and_is_not_awaited_forever(session):
    ib, errors = session
    future = ib.wrapper.startReq(42)

    ib.wrapper.error(42, 321, "Error validating request.-'bP' : cause - Invalid duration 'bogus'", "")

    assert future.done() and future.result() == [] and errors == [(42, 321)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_historical_data_with_a_bad_duration_ends_at_ibs_refusal(paper_gateway, ib_worker):
    ib = ib_worker.worker.ib

    async def history():
        spy = iblib.Stock("SPY", "SMART", "USD")
        await ib.qualifyContractsAsync(spy)
        return await asyncio.wait_for(ib.reqHistoricalDataAsync(spy, "", "bogus", "1 day", "TRADES", True), 10)

    assert list(ib_worker.call(history(), timeout=15)) == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_order_held_until_the_open_is_recorded_presubmitted_with_no_error(paper_gateway, ib_worker):
    codes = []
    ib_worker.worker.ib.errorEvent += lambda req_id, code, message, contract: codes.append((req_id, code))
    paper_gateway.set_price("SPY", 100.0)
    paper_gateway.market_close()

    trade = place_limit(ib_worker, "SPY", "BUY", 10, 99.0)
    order_id = trade.order.orderId
    wait_until(lambda: (order_id, 399) in codes, what="IB's warning 399 for an order placed while closed")
    ib_worker.flush()

    row = Order.objects.get(order_id=order_id)
    assert (row.status, row.last_error) == ("PreSubmitted", "")
    assert trade.orderStatus.status == "PreSubmitted"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_order_ib_makes_inactive_is_recorded_final_with_ibs_reason(paper_gateway, ib_worker):
    codes = []
    ib_worker.worker.ib.errorEvent += lambda req_id, code, message, contract: codes.append((req_id, code))
    paper_gateway.set_price("SPY", 100.0)
    paper_gateway.reject_next_order(code=201, message="Order rejected - reason:insufficient margin", inactive=True)

    trade = place_limit(ib_worker, "SPY", "BUY", 10, 99.0)
    order_id = trade.order.orderId
    wait_until(lambda: (order_id, 201) in codes, what="IB's rejection 201")
    ib_worker.flush()

    row = Order.objects.get(order_id=order_id)
    assert row.last_error.startswith("201: ") and "insufficient margin" in row.last_error
    # IB's own status on ib_async; ib_insync, which counts Inactive as neither done nor working, cancels
    # the trade on the error (both final in the console's records).
    assert trade.isDone() and row.status == ("Cancelled" if iblib.NAME == "ib_insync" else "Inactive")
