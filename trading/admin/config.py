"""Trading settings and strategies: the switches a trader sets, each change in the activity log.

Switches are set, never toggled: each button posts the value it stands for to
`<pk>/set/<field>/<value>/` (value `true`, `false`, or `none` — "no opinion", mode rows only), so a
double-click or a resent POST is harmless. Setting needs a POST (405), the change permission (403),
a known row, switch and value (404).

The common and mode rows are seeded by migrations (never added or deleted here). Account rows (one per
IB account an IB connection lists) are added here with only their switches and risk limits, and may
be deleted: deleting one releases whatever it held, recorded with who did it.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from trading.activity import activity_record
from trading.clock import display_zone_forget
from trading.config import config_change_record, config_update, effective_config, switch_now_text, switches_describe
from trading.models import ActivityKind, ConfigScope, Strategy, TradingConfig
from trading.models.config import ACCOUNT_LIMIT_FIELDS, COMMON_ONLY_FIELDS, OVERRIDABLE_FIELDS

SWITCH_VALUES = {"true": True, "false": False, "none": None}
SWITCH_FLIPPED = "{said}. In force now: {in_force}."
# field: {row value: (what the row says, the button that sets it)}
SWITCH_LABELS = {
    "trading_enabled": {
        True: ("allows trading", "Allow"),
        False: ("STOPS trading (kill switch)", "Stop"),
        None: ("no opinion (common decides)", "No opinion"),
    },
    "soft_stop": {
        True: ("soft stop ON (reduce only)", "Soft stop on"),
        False: ("soft stop off", "Soft stop off"),
        None: ("no opinion (common decides)", "No opinion"),
    },
}


ACCOUNT_FIELDSETS = (
    (None, {"fields": ("scope", "account")}),
    ("Switches", {"fields": ("trading_enabled", "soft_stop")}),
    ("Risk limits (only tighten the mode's)", {"fields": ACCOUNT_LIMIT_FIELDS}),
    ("Audit", {"fields": ("updated_at", "updated_by")}),
)
ACCOUNT_ROW_DELETED = "{who} deleted account {account} settings (its switches and limits no longer apply)"


class TradingConfigForm(forms.ModelForm):
    class Meta:
        model = TradingConfig
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:  # the admin adds account rows only: the three scopes are seeded
            self.instance.scope = ConfigScope.ACCOUNT


@admin.register(TradingConfig)
class TradingConfigAdmin(admin.ModelAdmin):
    change_list_template = "admin/trading/tradingconfig/change_list.html"
    form = TradingConfigForm
    list_display = ("row", "active_mode", "trading_toggle", "soft_stop_toggle", "overall_exposure", "updated_at", "updated_by")
    readonly_fields = ("scope", "updated_at", "updated_by")
    actions = None
    fieldsets = (
        (None, {"fields": ("scope", "active_mode", "display_time_zone", "account", "market_data_type")}),
        (
            "Switches",
            {
                "fields": (
                    "trading_enabled",
                    "soft_stop",
                    "enforce_flat_eod",
                    "flatten_unowned_positions",
                    "what_if_check",
                    "dry_run_default",
                )
            },
        ),
        (
            "Exposure and order defaults",
            {"fields": ("overall_exposure", "default_order_type", "default_tif", "limit_offset_bps")},
        ),
        (
            "Risk limits",
            {"fields": ("max_order_quantity", "max_order_notional", "allowed_symbols", "daily_loss_limit", "max_gross_exposure")},
        ),
        ("Cash balancer", {"fields": ("cash_balancer_threshold",)}),
        ("Audit", {"fields": ("updated_at", "updated_by")}),
    )

    def has_add_permission(self, request):
        return super().has_add_permission(request)  # account rows only (the three scopes are seeded)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.scope == ConfigScope.ACCOUNT and super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        return ACCOUNT_FIELDSETS if obj is None or obj.scope == ConfigScope.ACCOUNT else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        # An account row keeps its account: a new account is a new row.
        return (*self.readonly_fields, "account") if obj is not None and obj.scope == ConfigScope.ACCOUNT else self.readonly_fields

    @admin.display(description="Row", ordering="scope")
    def row(self, obj):
        return str(obj)

    def delete_model(self, request, obj):
        account = obj.account
        super().delete_model(request, obj)
        activity_record(
            kind=ActivityKind.CONFIG_CHANGE,
            message=ACCOUNT_ROW_DELETED.format(who=request.user.username, account=account),
            actor=request.user,
            payload={"scope": ConfigScope.ACCOUNT, "account": account, "deleted": True, "source": "admin"},
        )

    @admin.display(description="Kill switch")
    def trading_toggle(self, obj):
        return self._switch_buttons(obj, "trading_enabled")

    @admin.display(description="Soft stop")
    def soft_stop_toggle(self, obj):
        return self._switch_buttons(obj, "soft_stop")

    def _switch_buttons(self, obj, field):
        """The row's own value and one button per other value it may take, each posting that value."""
        current = getattr(obj, field)
        choices = (True, False) if obj.scope == ConfigScope.COMMON else (True, False, None)
        buttons = format_html_join(
            " ",
            # The changelist table sits inside its own <form>; the buttons post the separate switch form.
            '<button type="submit" form="config-switch-form" formaction="{}" class="button" data-set="{}-{}-{}">{}</button>',
            (
                (self._set_url(obj, field, value), obj.label.replace(" ", ":"), field, _key(value), SWITCH_LABELS[field][value][1])
                for value in choices
                if value is not current
            ),
        )
        engaged = current is (False if field == "trading_enabled" else True)
        css = "switch-none" if current is None else ("switch-engaged" if engaged else "switch-clear")
        return format_html(
            '<span class="{}" data-value="{}">{}</span> {}', css, _key(current), SWITCH_LABELS[field][current][0], buttons
        )

    @staticmethod
    def _set_url(obj, field, value) -> str:
        return reverse("admin:trading_tradingconfig_set", args=[obj.pk, field, _key(value)])

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/set/<str:field>/<str:value>/",
                self.admin_site.admin_view(self.switch_set_view),
                name="trading_tradingconfig_set",
            )
        ]
        return urls + super().get_urls()

    def switch_set_view(self, request, pk, field, value):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        config = TradingConfig.objects.filter(pk=pk).first()
        if config is None or field not in SWITCH_LABELS or value not in SWITCH_VALUES:
            raise Http404("no such settings row, switch or value")
        new_value = SWITCH_VALUES[value]
        account = config.account if config.scope == ConfigScope.ACCOUNT else None
        try:
            config_update(scope=config.scope, account=account, changes={field: new_value}, user=request.user, source="admin")
        except (ValidationError, ValueError) as exc:
            self.message_user(request, "; ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
        else:
            said = switch_now_text(scope=config.scope, field=field, value=new_value, account=account)
            in_force = switches_describe(effective_config(account=account))
            self.message_user(request, SWITCH_FLIPPED.format(said=said, in_force=in_force), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:trading_tradingconfig_changelist"))

    def save_model(self, request, obj, form, change):
        before = {name: form.initial.get(name) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        obj.updated_by = request.user
        obj.save(update_fields=["updated_by"])
        if "display_time_zone" in form.changed_data:
            display_zone_forget()
        config_change_record(config=obj, before=_typed(obj, before), user=request.user, source="admin")

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        try:
            extra_context["effective"] = effective_config()
        except LookupError:
            extra_context["effective"] = None
        return super().changelist_view(request, extra_context)


def _key(value: bool | None) -> str:
    return {True: "true", False: "false", None: "none"}[value]


def _typed(obj, before: dict) -> dict:
    """Form initial values are raw; convert them through the model field so from/to compare cleanly."""
    typed = {}
    for name, value in before.items():
        if name in (*OVERRIDABLE_FIELDS, *COMMON_ONLY_FIELDS):
            typed[name] = obj._meta.get_field(name).to_python(value) if value not in (None, "") else None
    return typed


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("strategy_id", "enabled", "exposure", "description", "updated_at")
    list_editable = ("enabled", "exposure")
    list_filter = ("enabled",)
    search_fields = ("strategy_id", "description")
    change_form_template = "admin/trading/strategy/change_form.html"
    actions = ["backtest"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from trading.admin.backtests import strategy_backtest_url

        strategy = self.get_object(request, object_id)
        extra = {"backtest_url": strategy_backtest_url(strategy.strategy_id)} if strategy else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @admin.action(description="Backtest the selected strategy")
    def backtest(self, request, queryset):
        from trading.admin.backtests import strategy_backtest_url

        return HttpResponseRedirect(strategy_backtest_url(queryset.order_by("strategy_id").first().strategy_id))

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
