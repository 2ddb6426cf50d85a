import pytest
from ib_insync import IB, LimitOrder, Stock

from tests.harness import WorkerThread, wait_until
from trading.models import IntentRun
from trading.orderref import order_ref_build


@pytest.fixture
def start_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """Start IB workers against the test's paper gateway; all are stopped at teardown."""
    workers = []

    def start(**options) -> WorkerThread:
        options.setdefault("handler_paths", [])
        worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, **options).start()
        workers.append(worker)
        worker.wait_connected()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def ib_worker(start_worker):
    return start_worker()


def place_limit(worker: WorkerThread, symbol: str, action: str, quantity: float, price: float, owner="test"):
    """Place a tagged limit order from the worker's own IB session (as an intent would), return the trade."""
    run = IntentRun.objects.create(intent="test", source="system")

    async def place():
        ib: IB = worker.worker.ib
        contract = Stock(symbol, "SMART", "USD")
        await ib.qualifyContractsAsync(contract)
        order = LimitOrder(action, quantity, price, orderRef=order_ref_build(owner=owner, run_id=run.pk))
        return ib.placeOrder(contract, order)

    return worker.call(place())


__all__ = ["place_limit", "wait_until"]
