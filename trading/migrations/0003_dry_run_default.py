from django.db import migrations, models


def dry_run_for_new_installs(apps, schema_editor):
    # New installs run intents as dry runs unless the caller says otherwise (Freqtrade-style).
    apps.get_model("trading", "TradingConfig").objects.filter(scope="common").update(dry_run_default=True)


class Migration(migrations.Migration):
    dependencies = [("trading", "0002_seed_config")]

    operations = [
        migrations.AddField(
            model_name="tradingconfig",
            name="dry_run_default",
            field=models.BooleanField(
                blank=True, null=True, help_text="Intents submitted without an explicit dry-run flag run as dry runs."
            ),
        ),
        migrations.RunPython(dry_run_for_new_installs, migrations.RunPython.noop),
    ]
