"""Fixtures for intent tests: a worker that executes runs, settings switches, a submission helper."""

import pytest

from tests.harness import WorkerThread, wait_until
from trading.config import config_update
from trading.intents.executor import IntentExecutor
from trading.intents.runs import run_submit, run_wait
from trading.models import ConfigScope, IntentRun, RunSource, RunStatus


def executing_worker(paper_gateway, tmp_path, *, sweep_interval: float) -> WorkerThread:
    """An IB worker connected to the paper gateway that executes the intent runs handed to it, and those
    its sweep finds queued every `sweep_interval` seconds."""
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[IntentExecutor(sweep_interval=sweep_interval)]
    ).start()
    worker.wait_connected()
    return worker


@pytest.fixture
def console_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    """An IB worker connected to the paper gateway that executes intent runs (sweeping every 0.1 s)."""
    worker = executing_worker(paper_gateway, tmp_path, sweep_interval=0.1)
    wait_until(lambda: _heartbeat_connected(), what="a connected heartbeat")
    yield worker
    worker.stop()


def _heartbeat_connected():
    from trading.worker.health import heartbeat_is_fresh

    return heartbeat_is_fresh()


@pytest.fixture
def trading_enabled(transactional_db):
    """Kill switch off (trading allowed) and real runs by default, as a trader sets up paper trading."""
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "dry_run_default": False})


def submit_and_wait(intent: str, params=None, *, dry_run=None, timeout=30.0, **kwargs) -> IntentRun:
    """Submit through the one submission path (as the CLI would) and wait for the outcome."""
    run, _ = run_submit(intent=intent, params=params or {}, dry_run=dry_run, source=RunSource.CLI, **kwargs)
    run = run_wait(run.pk, timeout=timeout)
    assert run.status in RunStatus.final_values(), f"run #{run.pk} still {run.status}"
    return run


def gateway_positions(gateway) -> dict:
    return {symbol: quantity for symbol, quantity in gateway.positions().items() if quantity}
