"""Fault-drill fixtures: a worker that executes intents against the test's paper gateway, drill intents,
and the ledger checks every drill ends with (nothing lost, nothing duplicated)."""

from collections import Counter
from pathlib import Path

import pytest

from tests.harness import WorkerThread, wait_until
from trading.config import config_update
from trading.intents.executor import IntentExecutor
from trading.intents.registry import _import_user_file, intent_get
from trading.intents.runs import run_submit, run_wait
from trading.models import ConfigScope, Fill, IntentRun, Order, RunSource, RunStatus

FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture
def drill_intents():
    """The drill's user intent file, loaded in this process (the in-process worker shares the registry)."""
    try:
        intent_get("drill_orders")
    except LookupError:
        _import_user_file(FILES / "drill_orders.py")


@pytest.fixture
def trading_on(transactional_db):
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "dry_run_default": False})


@pytest.fixture
def start_drill_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """Start in-process IB workers (intent executor included) on the paper gateway; stopped at teardown."""
    workers = []

    def start(**options) -> WorkerThread:
        options.setdefault("handler_paths", [])
        extensions = options.pop("extensions", None) or [IntentExecutor(sweep_interval=0.1)]
        worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, extensions=extensions, **options).start()
        workers.append(worker)
        worker.wait_connected()
        wait_until(heartbeat_connected, what="a connected heartbeat")
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def start_web(tmp_path):
    """Start the web process (daphne serving console.asgi) on this test's database; stopped at teardown."""
    from tests.dashboard.webserver import WebServer

    servers = []

    def start(**env: str) -> WebServer:
        server = WebServer(log_path=tmp_path / f"web-{len(servers)}.log", **env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def drill_worker(start_drill_worker, drill_intents, trading_on):
    return start_drill_worker()


def heartbeat_connected() -> bool:
    from trading.worker.health import heartbeat_is_fresh

    return heartbeat_is_fresh()


def submit(params: dict, *, key: str | None = None, intent: str = "drill_orders") -> IntentRun:
    run, _ = run_submit(intent=intent, params=params, dry_run=False, source=RunSource.CLI, idempotency_key=key)
    return run


def submit_and_wait(params: dict, *, key: str | None = None, timeout: float = 30.0) -> IntentRun:
    run = run_wait(submit(params, key=key).pk, timeout=timeout)
    assert run.status == RunStatus.SUCCEEDED, f"run #{run.pk} {run.status}: {run.error}"
    return run


def assert_ledger_matches_gateway(gateway, *, account: str | None = None) -> None:
    """Every execution at the gateway is one Fill row; every gateway order one Order row; none twice.

    `account`: the gateway's account, when the console records another gateway's too (only its rows count)."""
    executions = gateway.executions()
    exec_ids = [e["exec_id"] for e in executions]
    fills, orders_recorded = Fill.objects.all(), Order.objects.all()
    if account is not None:
        fills, orders_recorded = fills.filter(account=account), orders_recorded.filter(account=account)
    recorded = list(fills.values_list("exec_id", flat=True))
    assert len(exec_ids) == len(set(exec_ids))
    assert sorted(recorded) == sorted(exec_ids), f"{len(recorded)} fills recorded, {len(exec_ids)} at the gateway"

    orders = [o for o in gateway.orders() if not o["manual"]]
    placed = Counter((o["order_ref"], o["con_id"]) for o in orders if o["order_ref"])
    twice = {key: count for key, count in placed.items() if count > 1}
    assert not twice, f"orders placed more than once: {twice}"
    perm_ids = Counter(orders_recorded.exclude(perm_id=0).values_list("perm_id", flat=True))
    assert all(count == 1 for count in perm_ids.values()), "an order mirrored twice"
    for order in orders:
        row = orders_recorded.filter(perm_id=order["perm_id"]).first()
        assert row is not None, f"gateway order {order['perm_id']} {order['order_ref']} has no row"
        assert row.status == order["status"], f"order {order['perm_id']}: {row.status} recorded, {order['status']} at the gateway"


def filled_quantities_wrong(gateway) -> list[tuple]:
    """(perm id, recorded filled, gateway filled) for every order whose row disagrees with the gateway."""
    wrong = []
    for order in gateway.orders():
        row = Order.objects.filter(perm_id=order["perm_id"]).first()
        if row is None or float(row.filled) != order["filled"]:
            wrong.append((order["perm_id"], row and float(row.filled), order["filled"]))
    return wrong
