"""An example schedule, disabled: the seed's Cloud Scheduler job, the daily orchestrator at 16:15 New York
time on weekdays.

django-q2 schedules have no "enabled" flag; a schedule with `repeats = 0` is never picked up by the
scheduler (it selects `repeats != 0`). This one is created with repeats 0 and no next run. Enable it
with the "Enable" action of the scheduled-tasks admin (it sets repeats to -1, forever, and computes the
next run from now, so it does not fire at once for a missed time). The cron is evaluated in django-q2's
time zone (`Q_CLUSTER["time_zone"]`, else TIME_ZONE): see docs/INTENTS.md, "Schedules".
"""

from django.db import migrations

NAME = "daily orchestrator (example)"


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.get_or_create(
        name=NAME,
        defaults={
            "func": "trading.intents.tasks.intent_scheduled",
            "kwargs": "{'intent': 'orchestrator', 'params': {}}",
            "schedule_type": "C",  # cron
            "cron": "15 16 * * 1-5",
            "repeats": 0,  # disabled
            "next_run": None,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0003_dry_run_default"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, remove)]
