"""Trading settings and strategies: the switches a trader flips, each change in the activity log."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from trading.activity import activity_record
from trading.config import config_change_record, config_update, effective_config
from trading.models import ActivityKind, ConfigScope, Strategy, TradingConfig
from trading.models.config import OVERRIDABLE_FIELDS

TOGGLE_FIELDS = ("trading_enabled", "soft_stop")
TOGGLE_LABELS = {"trading_enabled": ("Trading ON", "Trading OFF (kill switch)"), "soft_stop": ("Soft stop ON", "Soft stop off")}


@admin.register(TradingConfig)
class TradingConfigAdmin(admin.ModelAdmin):
    change_list_template = "admin/trading/tradingconfig/change_list.html"
    list_display = ("scope", "active_mode", "trading_toggle", "soft_stop_toggle", "overall_exposure", "updated_at", "updated_by")
    readonly_fields = ("scope", "updated_at", "updated_by")
    actions = None
    fieldsets = (
        (None, {"fields": ("scope", "active_mode", "account", "market_data_type")}),
        (
            "Switches",
            {"fields": ("trading_enabled", "soft_stop", "enforce_flat_eod", "flatten_unowned_positions", "what_if_check", "dry_run_default")},
        ),
        ("Exposure and order defaults", {"fields": ("overall_exposure", "default_order_type", "default_tif")}),
        (
            "Risk limits",
            {"fields": ("max_order_quantity", "max_order_notional", "allowed_symbols", "daily_loss_limit", "max_gross_exposure")},
        ),
        ("Cash balancer", {"fields": ("cash_balancer_threshold",)}),
        ("Audit", {"fields": ("updated_at", "updated_by")}),
    )

    def has_add_permission(self, request):
        return False  # the three scopes are seeded by a migration

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Kill switch")
    def trading_toggle(self, obj):
        return self._toggle_button(obj, "trading_enabled")

    @admin.display(description="Soft stop")
    def soft_stop_toggle(self, obj):
        return self._toggle_button(obj, "soft_stop")

    def _toggle_button(self, obj, field):
        value = getattr(obj, field)
        on_label, off_label = TOGGLE_LABELS[field]
        label = "inherits common" if value is None else (on_label if value else off_label)
        url = reverse("admin:trading_tradingconfig_toggle", args=[obj.pk, field])
        css = "toggle-on" if value else "toggle-off"
        # The changelist table sits inside its own <form>; the button posts the separate toggle form.
        return format_html(
            '<span class="{}">{}</span> <button type="submit" form="config-toggle-form" formaction="{}" '
            'class="button" data-toggle="{}-{}">Flip</button>',
            css,
            label,
            url,
            obj.scope,
            field,
        )

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/toggle/<str:field>/",
                self.admin_site.admin_view(self.toggle_view),
                name="trading_tradingconfig_toggle",
            )
        ]
        return urls + super().get_urls()

    def toggle_view(self, request, pk, field):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request) or field not in TOGGLE_FIELDS:
            raise PermissionDenied
        config = TradingConfig.objects.get(pk=pk)
        current = getattr(config, field)
        if current is None:  # a mode row inheriting: flip what is in force for that mode
            current = getattr(effective_config(config.scope), field)
        new_value = not current
        try:
            config_update(scope=config.scope, changes={field: new_value}, user=request.user, source="admin")
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"{config}: {field} is now {'on' if new_value else 'off'}.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:trading_tradingconfig_changelist"))

    def save_model(self, request, obj, form, change):
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        obj.updated_by = request.user
        obj.save(update_fields=["updated_by"])
        config_change_record(config=obj, before=_typed(obj, before), user=request.user, source="admin")

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        try:
            extra_context["effective"] = effective_config()
        except LookupError:
            extra_context["effective"] = None
        return super().changelist_view(request, extra_context)


def _typed(obj, before: dict) -> dict:
    """Form initial values are raw; convert them through the model field so from/to compare cleanly."""
    typed = {}
    for name, value in before.items():
        if name in (*OVERRIDABLE_FIELDS, "active_mode"):
            typed[name] = obj._meta.get_field(name).to_python(value) if value not in (None, "") else None
    return typed


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("strategy_id", "enabled", "exposure", "description", "updated_at")
    list_editable = ("enabled", "exposure")
    list_filter = ("enabled",)
    search_fields = ("strategy_id", "description")

    def save_model(self, request, obj, form, change):
        changed = {name: {"from": str(form.initial.get(name)), "to": str(getattr(obj, name))} for name in form.changed_data}
        super().save_model(request, obj, form, change)
        verb = "changed" if change else "added"
        activity_record(
            kind=ActivityKind.CONFIG_CHANGE,
            message=f"{request.user.username} {verb} strategy {obj.strategy_id} ({', '.join(changed) or 'no fields'})",
            strategy=obj.strategy_id,
            actor=request.user,
            payload={"strategy": obj.strategy_id, "changes": changed, "source": "admin"},
        )


__all__ = ["ConfigScope", "StrategyAdmin", "TradingConfigAdmin"]
