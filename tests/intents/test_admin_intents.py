"""The admin page that runs an intent, the link to scheduling one, and the schedule list's enable/disable actions."""

import re

import pytest
from django.urls import reverse
from django_q.models import Schedule

from trading.config import config_update
from trading.intents.runs import run_wait
from trading.models import ConfigScope, IntentRun, RunSource, RunStatus, TradingMode

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
RUN_URL = "admin:trading_intentrun_run"
SCHEDULE_URL = "admin:django_q_schedule_intent_add"  # the Intent schedule page (tests/intents/test_schedule_page.py)


def test_the_runs_list_links_to_running_and_scheduling_an_intent(alice_client):
    body = alice_client.get(reverse("admin:trading_intentrun_changelist")).content.decode()
    assert reverse(RUN_URL) in body and reverse(SCHEDULE_URL) in body


def test_the_run_page_lists_every_intent_with_dry_run_ticked(alice_client):
    response = alice_client.get(reverse(RUN_URL))
    assert response.status_code == 200
    body = response.content.decode()
    for name in ("allocation", "orchestrator", "cash_balancer", "spy_macd_vixy", "example_hello"):
        assert f'<option value="{name}"' in body
    assert re.search(r'<input[^>]*name="dry_run"[^>]*checked', body)


def test_it_submits_a_dry_run_in_the_admins_name_and_links_to_it(alice_client, alice, console_worker):
    response = alice_client.post(reverse(RUN_URL), {"intent": "reconcile", "params": "{}", "dry_run": "on"}, follow=True)

    run = IntentRun.objects.get()
    assert (run.intent, run.dry_run, run.source, run.requested_by) == ("reconcile", True, RunSource.ADMIN, alice)
    assert reverse("admin:trading_intentrun_change", args=[run.pk]) in response.content.decode()
    assert run_wait(run.pk, timeout=20).status == RunStatus.SUCCEEDED


def test_bad_parameters_are_shown_on_the_form_and_nothing_is_queued(alice_client, console_worker):
    response = alice_client.post(
        reverse(RUN_URL), {"intent": "allocation", "params": '{"strategies": ["nobody"]}', "dry_run": "on"}
    )
    assert response.status_code == 200 and "strategies.0: unknown strategy &#x27;nobody&#x27;" in response.content.decode()
    response = alice_client.post(reverse(RUN_URL), {"intent": "allocation", "params": "[1, 2]"})
    assert "Parameters must be a JSON object" in response.content.decode()
    response = alice_client.post(reverse(RUN_URL), {"intent": "allocation", "params": "{fresh"})
    assert "Parameters are not valid JSON" in response.content.decode()
    assert not IntentRun.objects.exists()


def test_a_worker_that_is_down_is_explained_on_the_form(alice_client):
    response = alice_client.post(reverse(RUN_URL), {"intent": "summary", "params": "{}", "dry_run": "on"})
    assert response.status_code == 200 and "the IB worker is not connected" in response.content.decode()
    assert not IntentRun.objects.exists()


def test_only_staff_reach_the_pages(client, bob):
    client.force_login(bob)
    for url in (reverse(RUN_URL), reverse(SCHEDULE_URL)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.url


def test_the_schedule_list_enables_and_disables_schedules(alice_client):
    schedule = Schedule.objects.get(name="daily orchestrator (example)")
    changelist = reverse("admin:django_q_schedule_changelist")
    assert "orchestrator()" in alice_client.get(changelist).content.decode()

    response = alice_client.post(changelist, {"action": "enable", "_selected_action": [schedule.pk]}, follow=True)

    schedule.refresh_from_db()
    assert schedule.repeats == -1 and schedule.next_run is not None
    assert "enabled, next run" in response.content.decode()
    alice_client.post(changelist, {"action": "disable", "_selected_action": [schedule.pk]})
    assert Schedule.objects.get(pk=schedule.pk).repeats == 0


def test_a_real_run_in_live_mode_needs_confirming(alice_client):
    config_update(scope=ConfigScope.COMMON, changes={"active_mode": TradingMode.LIVE})

    response = alice_client.post(reverse(RUN_URL), {"intent": "summary", "params": "{}"})

    assert "This run sends real orders in LIVE mode" in response.content.decode()
    assert not IntentRun.objects.exists()
