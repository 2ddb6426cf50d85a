"""Intents: named, typed, dry-runnable actions executed by the IB worker (see base.py and runs.py)."""

from trading.intents.base import Intent, IntentParams
from trading.intents.context import IntentContext, IntentError
from trading.intents.registry import IntentNotFound, intent_get, intent_list, intent_register

__all__ = [
    "Intent",
    "IntentContext",
    "IntentError",
    "IntentNotFound",
    "IntentParams",
    "intent_get",
    "intent_list",
    "intent_register",
]
