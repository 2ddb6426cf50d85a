"""Orders, fills, positions and the activity log: read-only, searchable, filterable."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from trading.activity import activity_record
from trading.admin.base import ReadOnlyAdmin, local_time, number, order_type_words, order_words, run_link
from trading.admin.exports import CsvExportMixin
from trading.config import CHANGE_SETTINGS
from trading.exports import ACTIVITY_COLUMNS, FILL_COLUMNS, ORDER_COLUMNS
from trading.live import worker_command_send
from trading.models import (
    AccountValue,
    ActivityEntry,
    ActivityKind,
    Fill,
    HandlerStat,
    Holding,
    Order,
    PortfolioSnapshot,
    Position,
    PositionSnapshot,
    WorkerHeartbeat,
)


@admin.register(ActivityEntry)
class ActivityEntryAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = ("created_local", "kind", "severity", "mode", "strategy", "run_short", "actor", "message")
    list_filter = ("kind", "severity", "mode", "connection", "account", "strategy", "created_at")
    search_fields = ("message", "strategy")
    date_hierarchy = "created_at"
    list_select_related = ("run", "actor")
    export_columns, export_name = ACTIVITY_COLUMNS, "activity"

    created_local = local_time("created_at", "Time")

    @admin.display(description="Run", ordering="run")
    def run_short(self, obj):
        return run_link(obj)


@admin.register(Order)
class OrderAdmin(CsvExportMixin, ReadOnlyAdmin):
    # Fits 1280 px: one "BUY 10 SPY" column, one "LMT 450.1" column; IB's ids and the order ref are on
    # the order's page and searchable.
    list_display = (
        "created_local", "mode", "strategy", "order_text", "type_text", "status", "filled_text", "avg_price", "order_id", "run_short",
    )  # fmt: skip
    list_display_links = ("created_local", "order_text")
    list_filter = ("mode", "connection", "account", "status", "strategy", "action", "dry_run", "created_at")
    search_fields = ("symbol", "order_ref", "strategy", "=order_id", "=perm_id")
    date_hierarchy = "created_at"
    list_select_related = ("run",)
    export_columns, export_name = ORDER_COLUMNS, "orders"

    created_local = local_time("created_at", "Created")

    @admin.display(description="Order", ordering="symbol")
    def order_text(self, obj):
        return order_words(obj)

    @admin.display(description="Type", ordering="order_type")
    def type_text(self, obj):
        return order_type_words(obj)

    @admin.display(description="Filled", ordering="filled")
    def filled_text(self, obj):
        return number(obj.filled)

    @admin.display(description="Avg price", ordering="avg_fill_price")
    def avg_price(self, obj):
        return number(obj.avg_fill_price) if obj.filled else "–"

    @admin.display(description="Run", ordering="run")
    def run_short(self, obj):
        return run_link(obj)


@admin.register(Fill)
class FillAdmin(CsvExportMixin, ReadOnlyAdmin):
    list_display = (
        "executed_local",
        "mode",
        "strategy",
        "fill_text",
        "price_text",
        "commission_text",
        "pnl_text",
        "order_short",
        "run_short",
    )
    list_display_links = ("executed_local", "fill_text")
    list_filter = ("mode", "connection", "account", "strategy", "side", "executed_at")
    search_fields = ("symbol", "exec_id", "order_ref", "strategy")
    date_hierarchy = "executed_at"
    list_select_related = ("order", "run")
    export_columns, export_name = FILL_COLUMNS, "fills"

    executed_local = local_time("executed_at", "Executed")

    @admin.display(description="Fill", ordering="symbol")
    def fill_text(self, obj):
        return f"{obj.side} {number(obj.shares)} {obj.symbol}"

    @admin.display(description="Price", ordering="price")
    def price_text(self, obj):
        return number(obj.price)

    @admin.display(description="Run", ordering="run")
    def run_short(self, obj):
        return run_link(obj)

    @admin.display(description="Commission", ordering="commission")
    def commission_text(self, obj):
        return number(obj.commission)

    @admin.display(description="Realized P&L", ordering="realized_pnl")
    def pnl_text(self, obj):
        return number(obj.realized_pnl)

    @admin.display(description="Order", ordering="order")
    def order_short(self, obj):
        if not obj.order_id:
            return "–"
        url = reverse("admin:trading_order_change", args=[obj.order_id])
        return format_html('<a href="{}" title="{}">#{}</a>', url, obj.order, obj.order_id)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = (
        "symbol",
        "mode",
        "account",
        "quantity",
        "avg_cost",
        "market_price",
        "market_value",
        "unrealized_pnl",
        "updated_at",
    )
    list_filter = ("mode", "connection", "account", "sec_type")
    search_fields = ("symbol",)


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ("strategy", "symbol", "mode", "account", "quantity", "avg_cost", "updated_at")
    list_filter = ("mode", "connection", "account", "strategy")
    search_fields = ("symbol", "strategy")


@admin.register(AccountValue)
class AccountValueAdmin(ReadOnlyAdmin):
    list_display = ("account", "tag", "currency", "value", "mode", "updated_at")
    list_filter = ("mode", "connection", "account", "currency")
    search_fields = ("tag",)


@admin.register(PositionSnapshot)
class PositionSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("taken_at", "mode", "account", "source", "run")
    list_filter = ("mode", "connection", "source", "taken_at")
    date_hierarchy = "taken_at"


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("taken_at", "mode", "account", "net_liquidation", "available_funds", "buying_power", "run")
    list_filter = ("mode", "connection", "taken_at")
    date_hierarchy = "taken_at"


@admin.register(HandlerStat)
class HandlerStatAdmin(ReadOnlyAdmin):
    change_list_template = "admin/trading/handlerstat/change_list.html"
    list_display = (
        "name",
        "event",
        "file",
        "line",
        "is_async",
        "calls",
        "errors",
        "slow_calls",
        "mean_ms",
        "max_ms",
        "loaded",
        "updated_at",
    )
    list_filter = ("event", "is_async", "loaded")
    search_fields = ("name", "file")

    def get_urls(self):
        reload_url = path("reload/", self.admin_site.admin_view(self.reload_view), name="trading_handlerstat_reload")
        return [reload_url, *super().get_urls()]

    def reload_view(self, request):
        """Ask the running worker to reload its handler files (it keeps its IB connection)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (request.user.is_staff and request.user.has_perm(CHANGE_SETTINGS)):
            raise PermissionDenied  # operating the worker needs the operator's permission, as switches do
        try:
            worker_command_send({"type": "handlers.reload"})
        except Exception as exc:
            self.message_user(request, f"Could not reach the worker: {type(exc).__name__}: {exc}", messages.ERROR)
        else:
            activity_record(
                kind=ActivityKind.WORKER,
                message=f"{request.user.username} asked the worker to reload its handlers",
                actor=request.user,
            )
            self.message_user(request, "Reload requested: the worker reloads its handler files now (see the activity log).")
        return HttpResponseRedirect(reverse("admin:trading_handlerstat_changelist"))


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "mode", "connected", "gateway", "server_version", "loop_lag_ms", "last_event_at", "updated_at")
