"""Intent runs, strategy targets and allocation decisions: read-only records.

A run's page shows what it caused, each with a link: its orders and its fills. Its parameters and
result are pretty-printed JSON; its times are in the display zone.
"""

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from trading.admin.base import ReadOnlyAdmin, fill_words, local_time, number, order_type_words, order_words
from trading.admin.exports import CsvExportMixin
from trading.exports import RUN_COLUMNS
from trading.models import AllocationDecision, Fill, IntentRun, Order, StrategyTarget


def _link(obj, text: str) -> str:
    url = reverse(f"admin:trading_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def _pretty_json(value) -> str:
    if value in (None, {}, []):
        return "–"
    return format_html('<pre class="run-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, default=str))


def duration_words(run: IntentRun) -> str:
    """`0.8 s`, `2 min 5 s`; – while not finished."""
    if run.finished_at is None:
        return "–"
    seconds = (run.finished_at - (run.started_at or run.created_at)).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


class _RecordInline(admin.TabularInline):
    fk_name = "run"
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RunOrderInline(_RecordInline):
    model = Order
    verbose_name_plural = "orders this run placed"
    fields = readonly_fields = ("order_link", "created_local", "type_text", "status", "filled_text", "avg_price", "strategy")

    created_local = local_time("created_at", "Created")

    @admin.display(description="Order")
    def order_link(self, obj):
        return _link(obj, f"#{obj.pk} {order_words(obj)}")

    @admin.display(description="Type")
    def type_text(self, obj):
        return order_type_words(obj)

    @admin.display(description="Filled")
    def filled_text(self, obj):
        return number(obj.filled)

    @admin.display(description="Avg price")
    def avg_price(self, obj):
        return number(obj.avg_fill_price) if obj.filled else "–"


class RunFillInline(_RecordInline):
    model = Fill
    verbose_name_plural = "fills of this run"
    fields = readonly_fields = ("fill_link", "executed_local", "commission_text", "pnl_text", "order_link", "strategy")

    executed_local = local_time("executed_at", "Executed")

    @admin.display(description="Fill")
    def fill_link(self, obj):
        return _link(obj, fill_words(obj))

    @admin.display(description="Order")
    def order_link(self, obj):
        return _link(obj.order, f"#{obj.order_id}") if obj.order_id else "–"

    @admin.display(description="Commission")
    def commission_text(self, obj):
        return number(obj.commission)

    @admin.display(description="Realized P&L")
    def pnl_text(self, obj):
        return number(obj.realized_pnl)


@admin.register(IntentRun)
class IntentRunAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ("id", "intent", "account", "status", "dry_run", "mode", "source", "requested_by", "created_local", "took")
    list_display_links = ("id", "intent")
    list_filter = ("intent", "status", "account", "connection", "source", "mode", "dry_run", "created_at")
    search_fields = ("intent", "idempotency_key", "error")
    date_hierarchy = "created_at"
    list_select_related = ("requested_by",)
    export_columns, export_name = RUN_COLUMNS, "runs"
    inlines = (RunOrderInline, RunFillInline)
    fieldsets = (
        (None, {"fields": ("intent", "status", "account", "connection", "dry_run", "mode", "source", "requested_by")}),
        ("Hand-off", {"fields": ("idempotency_key", "task_id")}),
        ("Times", {"fields": ("created_local", "started_local", "finished_local", "took")}),
        ("Parameters and outcome", {"fields": ("params_pretty", "result_pretty", "error")}),
    )
    readonly_fields = ("created_local", "started_local", "finished_local", "took", "params_pretty", "result_pretty")

    created_local = local_time("created_at", "Created")
    started_local = local_time("started_at", "Started")
    finished_local = local_time("finished_at", "Finished")

    @admin.display(description="Took")
    def took(self, obj):
        return duration_words(obj)

    @admin.display(description="Parameters")
    def params_pretty(self, obj):
        return _pretty_json(obj.params)

    @admin.display(description="Result")
    def result_pretty(self, obj):
        return _pretty_json(obj.result)


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
