"""End to end through the real processes: a fill at the paper gateway, recorded by the IB worker, sent
by the django-q2 cluster (a subprocess: this test process never sends) to a local json:// receiver."""

import pytest

from tests.conftest import redis_purge_test_keys
from tests.harness import WorkerThread, subprocess_env, wait_until
from tests.intents.test_processes import _output, start, stop
from trading.config import config_update
from trading.intents.executor import IntentExecutor
from trading.intents.runs import run_submit, run_wait
from trading.models import ConfigScope, NotifyKind, NotifySend, RunSource, SendStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_fill_is_sent_by_the_cluster_to_the_receiver(paper_gateway, redis_url, tmp_path, receiver):
    config_update(scope=ConfigScope.COMMON, changes={"trading_enabled": True, "dry_run_default": False})
    paper_gateway.external_trade("GLD", 6)
    worker = WorkerThread(
        port=paper_gateway.port, var_dir=tmp_path, handler_paths=[], extensions=[IntentExecutor(sweep_interval=0.2)]
    )
    worker.start().wait_connected()
    wait_until(lambda: WorkerHeartbeat.objects.filter(connected=True).exists(), what="heartbeat")
    redis_purge_test_keys()
    cluster = start("qcluster", env=subprocess_env(NOTIFY_URLS=receiver.url("cluster"), NOTIFY_DAILY_SUMMARY_AT="off"))
    try:
        run, _ = run_submit(intent="close_all", params={}, dry_run=False, source=RunSource.CLI)
        run_wait(run.pk, timeout=60)

        def fill_message():  # the worker's reconcile also recovers the external BUY: alone or with it in a burst
            return next((p for p in receiver.received if "SELL 6 GLD @ " in p["title"] + p["message"]), None)

        try:
            payload = wait_until(fill_message, timeout=60, what="the fill's message at the receiver")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; sends: {list(NotifySend.objects.values())}{_output(cluster)}") from None
        assert "(close_all)" in payload["title"] + payload["message"]  # the strategy that filled
        sends = NotifySend.objects.filter(kind=NotifyKind.FILL)
        # The cluster records the outcome once the receiver has answered: the message can arrive first.
        wait_until(lambda: not sends.filter(status=SendStatus.SENDING).exists(), what="the send's outcome recorded")
        assert {(send.status, send.attempts) for send in sends} == {(SendStatus.SENT, 1)}
        assert sum(len(send.items) for send in sends) == 2  # each fill told once
    finally:
        stop(cluster)
        worker.stop()
