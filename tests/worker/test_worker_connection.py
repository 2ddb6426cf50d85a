"""IB's connection codes: 326 (client id in use) waits and retries, 1100/1101/1102 are acted on."""

import pytest
from ib_insync import IB

from tests.harness import WorkerThread, wait_until
from trading.models import ActivityEntry, ActivityKind

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def messages():
    return " | ".join(ActivityEntry.objects.filter(kind=ActivityKind.CONNECTION).order_by("id").values_list("message", flat=True))


def test_a_client_id_in_use_is_waited_out_and_then_connected(paper_gateway, redis_url, tmp_path):
    squatter = IB()
    squatter.connect("127.0.0.1", paper_gateway.port, clientId=1, timeout=5)
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[]).start()
    try:
        wait_until(lambda: "client id 1 is in use (326)" in messages(), what="the 326 to be reported")
        assert not worker.worker.synced
        squatter.disconnect()
        worker.wait_connected(timeout=20)
        assert "connected to 127.0.0.1" in messages()
    finally:
        squatter.disconnect()
        worker.stop()


def test_connectivity_lost_and_restored_with_data_lost_resubscribes(paper_gateway, redis_url, tmp_path):
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path, handler_paths=[]).start()
    try:
        worker.wait_connected()
        paper_gateway.connectivity_lost(duration=0.3, data_lost=True)
        wait_until(lambda: "restored (1101)" in messages(), what="the 1101 restore")
        text = messages()
        assert "gateway lost its connection to IB (1100)" in text
        assert worker.worker.state == "connected" and worker.worker.synced
        assert len(worker.worker.ib.wrapper.pnlKey2ReqId) == 1  # PnL asked for again, once
    finally:
        worker.stop()
