"""The Intent schedule page: parameters as form fields validated by the intent's schema, cron or an
interval, the next five runs in the display zone, enable/disable and run now; a django-q2 Schedule row
underneath, and django-q2's raw form off the trader's path."""

import ast
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from trading import clock
from trading.config import config_update
from trading.intents.runs import run_wait
from trading.intents.schedules import SCHEDULE_FUNC, schedule_create
from trading.models import ConfigScope, IntentRun, RunSource, RunStatus

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ADD = "admin:django_q_schedule_intent_add"
EXAMPLE = "daily orchestrator (example)"


@pytest.fixture(autouse=True)
def _zone_read_fresh():
    clock.display_zone_forget()
    yield
    clock.display_zone_forget()


def page(pk):
    return reverse("admin:django_q_schedule_intent", args=[pk])


def action(pk, name):
    return reverse("admin:django_q_schedule_intent_action", args=[pk, name])


ALLOCATION = {"intent": "allocation", "name": "morning allocation", "timing": "cron", "cron": "0 10 * * 1-5", "dry_run": "on"}


def test_the_page_shows_the_intents_parameters_as_fields_not_a_dict(alice_client):
    body = alice_client.get(reverse(ADD) + "?intent=place_order").content.decode()
    assert 'name="param_symbol"' in body and 'name="param_limit_price"' in body
    assert '<select name="param_action"' in body and '<option value="BUY">' in body
    assert 'name="params"' not in body and "kwargs" not in body
    assert "read in America/New_York (the scheduler&#x27;s zone, SCHEDULE_TIME_ZONE)" in body


def test_a_valid_cron_schedule_becomes_a_q2_schedule_row(alice_client, alice):
    data = {**ALLOCATION, "param_freshMinutes": "30", "param_strategies": "spy_macd_vixy, testsignalgenerator"}
    response = alice_client.post(reverse(ADD), data)

    schedule = Schedule.objects.get(name="morning allocation")
    assert response.status_code == 302 and response.url == page(schedule.pk)
    assert (schedule.func, schedule.schedule_type, schedule.cron, schedule.repeats) == (
        SCHEDULE_FUNC,
        Schedule.CRON,
        "0 10 * * 1-5",
        0,
    )
    call = ast.literal_eval(schedule.kwargs)
    assert call == {
        "intent": "allocation",
        "params": {"freshMinutes": 30, "strategies": ["spy_macd_vixy", "testsignalgenerator"]},
        "dry_run": True,
    }


def test_bad_parameters_are_shown_on_their_field_and_no_row_is_made(alice_client):
    before = Schedule.objects.count()
    bad = alice_client.post(reverse(ADD), {**ALLOCATION, "param_strategies": "nobody"}).content.decode()
    assert "unknown strategy &#x27;nobody&#x27;" in bad
    bad = alice_client.post(reverse(ADD), {**ALLOCATION, "param_freshMinutes": "0"}).content.decode()
    assert "Ensure this value is greater than or equal to 1" in bad
    bad = alice_client.post(reverse(ADD), {**ALLOCATION, "intent": "place_order", "param_symbol": "SPY"})
    assert bad.context["form"].errors["param_action"] == ["This field is required."]
    bad = alice_client.post(reverse(ADD), {**ALLOCATION, "cron": "at ten"}).content.decode()
    assert "not a cron expression" in bad
    bad = alice_client.post(reverse(ADD), {**ALLOCATION, "timing": "interval", "minutes": ""}).content.decode()
    assert "Enter the interval in minutes" in bad
    assert Schedule.objects.count() == before


def test_an_enabled_cron_schedule_lists_its_next_five_runs_in_the_display_zone(alice_client):
    response = alice_client.post(reverse(ADD), {**ALLOCATION, "enabled": "on"}, follow=True)
    body = response.content.decode()
    runs = response.context["next_runs"]
    assert len(runs) == 5 and all(" 10:00 " in when and when.split()[0] in ("Mon", "Tue", "Wed", "Thu", "Fri") for when in runs)
    assert all(when.endswith(("EST", "EDT")) for when in runs) and runs[0] in body

    config_update(scope=ConfigScope.COMMON, changes={"display_time_zone": "Europe/London"})
    schedule = Schedule.objects.get(name="morning allocation")
    runs = alice_client.get(page(schedule.pk)).context["next_runs"]
    assert all(" 15:00 " in when and when.endswith(("GMT", "BST")) for when in runs)  # 10:00 New York is 15:00 London


def test_an_interval_schedule_runs_every_n_minutes_from_now(alice_client):
    started = timezone.now()
    data = {**ALLOCATION, "timing": "interval", "minutes": "45", "cron": "", "enabled": "on"}
    response = alice_client.post(reverse(ADD), data, follow=True)

    schedule = Schedule.objects.get(name="morning allocation")
    assert (schedule.schedule_type, schedule.minutes, schedule.cron) == (Schedule.MINUTES, 45, None)
    assert timedelta(minutes=45) <= schedule.next_run - started < timedelta(minutes=46)
    zone = ZoneInfo("America/New_York")
    expected = [clock.local_text(schedule.next_run + timedelta(minutes=45 * k), "%a %Y-%m-%d %H:%M %Z") for k in range(5)]
    assert response.context["next_runs"] == expected and expected[0].endswith(schedule.next_run.astimezone(zone).strftime("%Z"))


def test_editing_keeps_the_row_and_changes_its_call(alice_client):
    schedule = schedule_create(
        name="hello", intent="example_hello", params={"who": "ann"}, dry_run=True, cron="0 9 * * *", enabled=False
    )
    form = alice_client.get(page(schedule.pk)).context["form"]
    assert form.initial["param_who"] == "ann" and form.initial["cron"] == "0 9 * * *"

    data = {"intent": "example_hello", "name": "hello", "timing": "cron", "cron": "30 9 * * *", "param_who": "bea"}
    assert alice_client.post(page(schedule.pk), data).status_code == 302

    schedule.refresh_from_db()
    assert schedule.cron == "30 9 * * *" and ast.literal_eval(schedule.kwargs)["params"] == {"who": "bea"}
    assert ast.literal_eval(schedule.kwargs)["dry_run"] is False  # the box was left unticked


def test_enable_and_disable_buttons(alice_client):
    schedule = Schedule.objects.get(name=EXAMPLE)
    assert 'id="schedule-enable"' in alice_client.get(page(schedule.pk)).content.decode()

    alice_client.post(action(schedule.pk, "enable"))
    schedule.refresh_from_db()
    assert schedule.repeats == -1 and schedule.next_run > timezone.now()
    assert 'id="schedule-disable"' in alice_client.get(page(schedule.pk)).content.decode()

    alice_client.post(action(schedule.pk, "disable"))
    assert Schedule.objects.get(pk=schedule.pk).repeats == 0
    assert alice_client.get(action(schedule.pk, "enable")).status_code == 405


def test_run_now_submits_a_run_through_the_submission_path(alice_client, alice, console_worker):
    schedule = schedule_create(name="reconcile", intent="reconcile", params={}, dry_run=True, cron="0 * * * *", enabled=False)

    response = alice_client.post(action(schedule.pk, "run"), follow=True)

    run = IntentRun.objects.get()
    assert (run.intent, run.dry_run, run.source, run.requested_by) == ("reconcile", True, RunSource.ADMIN, alice)
    assert reverse("admin:trading_intentrun_change", args=[run.pk]) in response.content.decode()
    assert run_wait(run.pk, timeout=20).status == RunStatus.SUCCEEDED
    assert Schedule.objects.get(pk=schedule.pk).repeats == 0  # running now does not enable it


def test_a_worker_that_is_down_is_said_and_nothing_is_queued(alice_client):
    schedule = schedule_create(name="summary", intent="summary", params={}, dry_run=True, cron="0 * * * *", enabled=False)
    body = alice_client.post(action(schedule.pk, "run"), follow=True).content.decode()
    assert "Not run: " in body and "the IB worker is not connected" in body
    assert not IntentRun.objects.exists()


def test_the_raw_q2_form_is_off_the_traders_path(alice_client):
    schedule = Schedule.objects.get(name=EXAMPLE)
    assert alice_client.get(reverse("admin:django_q_schedule_add")).url == reverse(ADD)
    assert alice_client.get(reverse("admin:django_q_schedule_change", args=[schedule.pk])).url == page(schedule.pk)
    assert alice_client.get(reverse("admin:django_q_schedule_change", args=[schedule.pk]) + "?raw=1").status_code == 200
    runs_list = alice_client.get(reverse("admin:trading_intentrun_changelist")).content.decode()
    assert reverse(ADD) in runs_list
    assert (
        alice_client.get(reverse("admin:trading_intentrun_schedule") + "?intent=summary").url == reverse(ADD) + "?intent=summary"
    )


def test_only_people_who_may_add_schedules_reach_the_page(client, bob):
    client.force_login(bob)
    response = client.get(reverse(ADD))
    assert response.status_code == 302 and "/login/" in response.url
