from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load the intents once, on the main thread: the IB client library (imported by them) asks for an
        # event loop at import, which a web request's worker thread does not have.
        import asyncio

        try:
            asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())
        from trading.iblib import ib_insync_alias
        from trading.intents.registry import intents_load

        # On ib_async, `import ib_insync` gives ib_async in every process that sets Django up (web, q2
        # cluster, worker), before any user file is imported.
        ib_insync_alias()
        intents_load()

        from django_q.signals import post_execute

        from trading.taskrecords import task_recorded

        post_execute.connect(task_recorded, dispatch_uid="trading.taskrecords")
