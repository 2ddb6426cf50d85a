"""The admin as a control room: settings first, CSV exports of the record lists, a run's orders and
fills on its page, switch flips said in words, and `runintent --list` as a table."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.urls import reverse

from tests.api.factories import fill_make, order_make, run_make
from trading.activity import activity_record
from trading.models import ActivityEntry, ActivityKind, ConfigScope, IntentRun, OrderStatus, TradingConfig

pytestmark = pytest.mark.django_db


def csv_rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_it_puts_trading_settings_and_strategies_first_on_the_index(alice_client):
    response = alice_client.get(reverse("admin:index"))

    apps = response.context["app_list"]
    assert apps[0]["app_label"] == "trading"
    names = [model["object_name"] for model in apps[0]["models"]]
    assert names[:4] == ["TradingConfig", "Strategy", "IntentRun", "Order"]
    body = response.content.decode()
    assert body.index("Trading settings") < body.index("Strategies") < body.index("Account values")


def test_the_export_link_takes_the_list_as_filtered_every_row_not_one_page(alice_client):
    for _ in range(120):  # more than the list's page of 100
        order_make(symbol="SPY", status=OrderStatus.FILLED)
    order_make(symbol="QQQ", status=OrderStatus.FILLED)
    order_make(symbol="SPY", status=OrderStatus.CANCELLED)
    url = reverse("admin:trading_order_changelist")

    page = alice_client.get(url + "?status__exact=Filled&q=SPY").content.decode()
    link = re.search(r'<a href="([^"]+)" id="export-csv">Export CSV \((\d+) rows\)</a>', page)
    response = alice_client.get(link.group(1).replace("&amp;", "&"))

    assert link.group(2) == "120"
    rows = csv_rows(response)
    assert len(rows) == 120 and {(row["symbol"], row["status"]) for row in rows} == {("SPY", "Filled")}
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')


def test_the_export_action_takes_the_selected_rows(alice_client):
    chosen = [fill_make(symbol="SPY", commission="1.5"), fill_make(symbol="QQQ")]
    fill_make(symbol="IWM")

    response = alice_client.post(
        reverse("admin:trading_fill_changelist"),
        {"action": "export_csv", "_selected_action": [fill.pk for fill in chosen], "index": 0},
    )

    assert sorted(row["exec_id"] for row in csv_rows(response)) == sorted(fill.exec_id for fill in chosen)


@pytest.mark.parametrize("model", ["order", "fill", "activityentry", "intentrun"])
def test_every_record_list_exports(alice_client, model):
    run = run_make(intent="close_all")
    order_make(run=run)
    fill_make(run=run)
    activity_record(kind=ActivityKind.ORDER, message="=1+1 is not a formula here", run=run)

    rows = csv_rows(alice_client.get(reverse(f"admin:trading_{model}_export")))

    assert len(rows) == 1
    if model == "activityentry":
        assert rows[0]["message"] == "'=1+1 is not a formula here"


def test_a_staff_user_without_view_permission_cannot_export(client, django_user_model):
    dave = django_user_model.objects.create_user("dave", "dave@example.com", "dave-password-1", is_staff=True)
    client.force_login(dave)

    assert client.get(reverse("admin:trading_order_export")).status_code == 403


def test_the_order_list_reads_compactly_in_the_display_zone(alice_client, settings):
    settings.DISPLAY_TIME_ZONE = "America/New_York"
    order_make(
        symbol="SPY", action="SELL", total_quantity="10", order_type="LMT", lmt_price="450.100000",
        status=OrderStatus.FILLED, filled="10", avg_fill_price="450.120000",
        created_at=datetime(2026, 7, 1, 13, 30, 5, tzinfo=UTC),
    )  # fmt: skip

    body = alice_client.get(reverse("admin:trading_order_changelist")).content.decode()

    assert "Created (E" in body  # EST or EDT, by today's date
    for text in ("2026-07-01 09:30:05", "SELL 10 SPY", "LMT 450.1", "450.12"):
        assert text in body
    assert "perm_id" not in body and "Order ref" not in body


def test_a_runs_page_lists_its_orders_and_fills_with_links_and_pretty_json(alice_client):
    run = run_make(intent="close_all", status="succeeded", params={"strategies": ["macd"]}, result={"sent": 1})
    order = order_make(symbol="SPY", action="SELL", run=run)
    fill = fill_make(symbol="SPY", side="SELL", price="450.25", run=run, order=order)
    other = order_make(symbol="QQQ")

    body = alice_client.get(reverse("admin:trading_intentrun_change", args=[run.pk])).content.decode()

    assert f'href="{reverse("admin:trading_order_change", args=[order.pk])}">#{order.pk} SELL 10 SPY</a>' in body
    assert f'href="{reverse("admin:trading_fill_change", args=[fill.pk])}">SELL 10 SPY @ 450.25</a>' in body
    assert f"#{other.pk} BUY 10 QQQ" not in body
    assert '<pre class="run-json">{\n  &quot;strategies&quot;: [\n    &quot;macd&quot;\n  ]\n}</pre>' in body


def test_the_runs_list_shows_how_long_a_run_took(alice_client):
    run = run_make(intent="summary", status="succeeded")
    IntentRun.objects.filter(pk=run.pk).update(started_at=run.created_at, finished_at=run.created_at + timedelta(seconds=2.5))

    body = alice_client.get(reverse("admin:trading_intentrun_changelist")).content.decode()

    assert "2.5 s" in body and "Took" in body


def test_a_switch_flip_is_said_in_words(alice_client):
    paper = TradingConfig.objects.get(scope=ConfigScope.PAPER)
    response = alice_client.post(
        reverse("admin:trading_tradingconfig_set", args=[paper.pk, "trading_enabled", "true"]), follow=True
    )

    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("Trading is now enabled for paper. In force now: trading is stopped by the common settings")
    assert "trading_enabled" not in message


def test_the_settings_change_in_the_activity_log_names_the_switch_in_words(alice_client):
    common = TradingConfig.objects.get(scope=ConfigScope.COMMON)
    alice_client.post(reverse("admin:trading_tradingconfig_set", args=[common.pk, "soft_stop", "true"]))

    message = ActivityEntry.objects.get(kind=ActivityKind.CONFIG_CHANGE).message
    assert message == "alice changed common settings (soft stop: no → yes)"


def test_runintent_list_prints_a_table_of_intents_and_their_parameters():
    out = io.StringIO()
    call_command("runintent", "--list", stdout=out)
    text = out.getvalue()

    assert "allocation  (places orders)" in text
    assert re.search(r"\n  freshMinutes +integer ≥ 1 +180 +Targets older than this are stale\.\n", text)
    assert re.search(r"\n  order +integer > 0 +required +The console's order row id", text)  # modify_order
    assert re.search(r"\n  orderType +MKT \| LMT +– +MKT \(default", text)
    assert "summary\n  Account summary" in text and "no parameters" in text
    assert '"properties"' not in text and "anyOf" not in text


def test_runintent_list_json_is_the_machine_readable_form():
    out = io.StringIO()
    call_command("runintent", "--list", "--json", stdout=out)

    intents = {intent["name"]: intent for intent in json.loads(out.getvalue())}
    assert intents["allocation"]["params"]["properties"]["freshMinutes"]["default"] == 180
