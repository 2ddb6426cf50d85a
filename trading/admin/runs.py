"""Intent runs, strategy targets and allocation decisions: read-only records."""

from django.contrib import admin

from trading.admin.base import ReadOnlyAdmin
from trading.models import AllocationDecision, IntentRun, StrategyTarget


@admin.register(IntentRun)
class IntentRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "intent", "status", "dry_run", "mode", "source", "requested_by", "created_at", "finished_at")
    list_filter = ("intent", "status", "source", "mode", "dry_run", "created_at")
    search_fields = ("intent", "idempotency_key", "error")
    date_hierarchy = "created_at"
    list_select_related = ("requested_by",)


@admin.register(StrategyTarget)
class StrategyTargetAdmin(ReadOnlyAdmin):
    list_display = ("strategy", "mode", "status", "updated_at", "run")
    list_filter = ("mode", "status", "strategy", "updated_at")
    date_hierarchy = "updated_at"


@admin.register(AllocationDecision)
class AllocationDecisionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "mode", "dry_run", "run")
    list_filter = ("mode", "dry_run", "created_at")
    date_hierarchy = "created_at"
