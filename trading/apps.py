from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Load the intents once, on the main thread: ib_insync (imported by them) asks for an event
        # loop at import, which a web request's worker thread does not have.
        import asyncio

        from trading.intents.registry import intents_load

        try:
            asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())
        intents_load()
