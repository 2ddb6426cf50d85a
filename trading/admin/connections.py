"""IB connections: list, add, edit, enable and disable (trading/connections/services.py has the rules).

The `default` row mirrors the environment (IB_HOST, IB_PORT, IB_CLIENT_ID, IB_ACCOUNT, TRADING_MODE):
its endpoint fields are read-only here and it cannot be deleted (it would come back at the next
start); it can be disabled. Enable/disable set a value, never toggle. Every form error is the same
one-line message `manage.py connection` prints.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from trading.connections.services import accounts_parse, connection_problems
from trading.models import DEFAULT_CONNECTION, IBConnection, WorkerLease

ENDPOINT_FIELDS = ("host", "port", "client_id", "mode", "accounts")


class IBConnectionForm(forms.ModelForm):
    accounts = forms.CharField(
        required=False,
        help_text="Accounts this connection may trade, separated by commas or spaces (e.g. DU111, DU222); "
        "empty: whatever the gateway manages.",
    )

    class Meta:
        model = IBConnection
        fields = ("name", "host", "port", "client_id", "mode", "accounts", "enabled")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "accounts" in self.fields and self.instance.pk:
            self.initial["accounts"] = ", ".join(self.instance.accounts or [])

    def clean_accounts(self):
        return accounts_parse(self.cleaned_data.get("accounts") or "")

    def clean(self):
        data = super().clean()
        if self.instance.pk and self.instance.name == DEFAULT_CONNECTION:
            return data  # its endpoint comes from the environment; only `enabled` is edited here
        values = {key: data.get(key, getattr(self.instance, key)) for key in ("name", "host", "port", "client_id", "mode")}
        if None in values.values():
            return data  # a field's own error is already shown
        for problem in connection_problems(**values, exclude_name=self.instance.name if self.instance.pk else None):
            self.add_error(None, problem)
        return data


@admin.register(IBConnection)
class IBConnectionAdmin(admin.ModelAdmin):
    form = IBConnectionForm
    list_display = ("name", "enabled", "mode", "endpoint_text", "client_id", "accounts_text", "lease_text", "updated_at")
    list_filter = ("enabled", "mode")
    search_fields = ("name", "host")
    actions = ["enable", "disable"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.name == DEFAULT_CONNECTION:
            return ("name", *ENDPOINT_FIELDS, "created_at", "updated_at")
        return ("created_at", "updated_at") if obj is not None else ()

    def get_fields(self, request, obj=None):
        fields = ["name", "host", "port", "client_id", "mode", "accounts", "enabled"]
        return fields + ["created_at", "updated_at"] if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name == DEFAULT_CONNECTION:
            return False  # the environment defines it; disable it instead
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset.exclude(name=DEFAULT_CONNECTION))

    @admin.display(description="Gateway")
    def endpoint_text(self, obj):
        return obj.endpoint

    @admin.display(description="Accounts")
    def accounts_text(self, obj):
        return ", ".join(obj.accounts or []) or "(all managed)"

    @admin.display(description="Worker lease")
    def lease_text(self, obj):
        lease = WorkerLease.objects.filter(connection=obj.name, client_id=obj.client_id, released=False).first()
        if lease is None:
            return "-"
        state = "expired" if lease.expires_at <= timezone.now() else "live"
        return f"{lease.owner} (token {lease.token}, {state})"

    @admin.action(description="Enable selected connections (`up` starts their workers)")
    def enable(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected connections (`up` starts no worker for them)")
    def disable(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request, queryset, enabled: bool) -> None:
        changed = queryset.exclude(enabled=enabled).update(enabled=enabled, updated_at=timezone.now())
        state = "enabled" if enabled else "disabled"
        self.message_user(
            request, f"{changed} connection(s) {state}; a running worker keeps running until stopped.", messages.SUCCESS
        )
