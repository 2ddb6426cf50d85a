"""OrderGateway.preview: the same rules as place, every verdict listed, nothing recorded, nothing sent."""

import pytest
from ib_insync import Stock

from tests.harness import WorkerThread
from tests.intents.factories import switches_set
from trading.config import effective_config
from trading.intents.context import IntentContext
from trading.intents.orders import KILL_SWITCH, MAX_QUANTITY, WHY_SOFT_STOP, OrderGateway
from trading.models import ActivityEntry, IntentRun, Order

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.paper_gateway(tick_interval=0)]


@pytest.fixture
def ib_worker(paper_gateway, redis_url, transactional_db, tmp_path):
    worker = WorkerThread(port=paper_gateway.port, var_dir=tmp_path).start()
    worker.wait_connected()
    paper_gateway.set_price("SPY", 100)
    yield worker
    worker.stop()


def preview(worker, **terms) -> dict:
    async def run():
        w = worker.worker
        ctx = IntentContext(ib=w.ib, run=IntentRun(intent="place_order"), config=await w.db(effective_config), worker=w)
        gateway = OrderGateway(ctx, allowed_when_killed=False)
        contract = (await ctx.qualify(Stock("SPY", "SMART", "USD")))[0]
        return await gateway.preview(
            contract=contract, **{"action": "BUY", "quantity": 5, "order_type": "LMT", "limit_price": 90, **terms}
        )

    return worker.call(run())


def rows() -> tuple[int, int, int]:
    return Order.objects.count(), IntentRun.objects.count(), ActivityEntry.objects.count()


def verdicts(result) -> dict:
    return {check["rule"]: (check["ok"], check["message"]) for check in result["checks"]}


def test_with_trading_on_every_rule_passes_in_place_order_and_the_what_if_is_there(ib_worker):
    switches_set(trading_enabled=True, soft_stop=False)
    before = rows()

    result = preview(ib_worker)

    assert [check["rule"] for check in result["checks"]] == [
        "order", "mode", "kill_switch", "soft_stop", "allowed_symbols", "max_order_quantity", "max_order_notional",
        "duplicate",
    ] + (["what_if"] if effective_config().what_if_check else []), result  # fmt: skip
    assert all(check["ok"] for check in result["checks"]) and result["would_send"] is True
    assert result["what_if"]["init_margin_change"] > 0
    ib_worker.flush()
    assert rows() == before


def test_every_failing_rule_is_listed_with_the_message_place_would_refuse_with(ib_worker):
    switches_set(trading_enabled=False, soft_stop=True, max_order_quantity=3)

    result = preview(ib_worker)

    failing = {rule: message for rule, (ok, message) in verdicts(result).items() if not ok}
    assert failing["kill_switch"] == KILL_SWITCH
    assert failing["soft_stop"].startswith(WHY_SOFT_STOP + ": BUY 5 SPY would take the position from 0 to 5")
    assert failing["max_order_quantity"] == MAX_QUANTITY.format(quantity=5.0, symbol="SPY", limit=3)
    assert result["would_send"] is False


def test_an_order_ib_would_not_take_is_one_failing_order_check_and_no_orders(ib_worker):
    switches_set(trading_enabled=True)

    result = preview(ib_worker, order_type="STP")

    assert [(c["rule"], c["ok"]) for c in result["checks"]] == [("order", False)]
    assert "stop_price" in result["checks"][0]["message"] and result["orders"] == [] and result["what_if"] is None
