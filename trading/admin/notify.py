"""Notification targets (URLs masked: the URL is the secret) and the read-only record of every send.

A target's URL is never put back into a page: the change form shows it masked and an empty field;
left empty, the stored URL stays. A new URL is checked by apprise before it is saved.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from trading.activity import activity_record
from trading.admin.base import ReadOnlyAdmin
from trading.models import ActivityKind, NotifyKind, NotifySend, NotifyTarget
from trading.notify.sender import UNKNOWN_URL
from trading.notify.targets import db_target, url_mask
from trading.notify.tasks import notify_test_queue

URL_REQUIRED = "an apprise URL is required"
KEEP_URL = "Current: {masked}. Leave empty to keep it; type a new URL to replace it."


def apprise_knows(url: str) -> bool:
    import apprise

    return bool(apprise.Apprise().add(url))


class SecretInput(forms.TextInput):
    """A text box that never puts a value back into the page (not the stored URL, not a rejected one)."""

    def format_value(self, value):
        return None


class SecretField(forms.CharField):
    """Empty means "keep the stored value", so only a typed value is a change (for the admin's history too)."""

    def has_changed(self, initial, data) -> bool:
        return bool((data or "").strip())


class NotifyTargetForm(forms.ModelForm):
    url = SecretField(
        label="apprise URL",
        required=False,
        max_length=2000,
        widget=SecretInput(attrs={"autocomplete": "off", "size": 80}),
        help_text="Holds secrets. E.g. tgram://BOT_TOKEN/CHAT_ID, ntfy://topic, slack://T/B/C, json://host:port/path.",
    )
    kinds = forms.MultipleChoiceField(
        label="events",
        choices=[(kind, NotifyKind(kind).label) for kind in NotifyKind.event_values()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=NotifyKind.event_values,
    )

    class Meta:
        model = NotifyTarget
        fields = ("name", "url", "enabled", "kinds")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["url"].help_text = KEEP_URL.format(masked=url_mask(self.instance.url))

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if not url:
            if self.instance.pk:
                return self.instance.url
            raise forms.ValidationError(URL_REQUIRED)
        if not apprise_knows(url):
            raise forms.ValidationError(UNKNOWN_URL)
        return url


@admin.register(NotifyTarget)
class NotifyTargetAdmin(admin.ModelAdmin):
    form = NotifyTargetForm
    list_display = ("name", "masked_url", "enabled", "events")
    list_filter = ("enabled",)
    search_fields = ("name",)
    actions = ["send_test"]

    @admin.display(description="URL")
    def masked_url(self, target: NotifyTarget) -> str:
        return url_mask(target.url)

    @admin.display(description="events")
    def events(self, target: NotifyTarget) -> str:
        kinds = target.kinds or []
        if set(NotifyKind.event_values()) <= set(kinds):
            return "all"
        return ", ".join(NotifyKind(kind).label for kind in kinds if kind in NotifyKind.values) or "none"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        verb = "changed" if change else "added"
        fields = ", ".join(form.changed_data) or "nothing"
        activity_record(
            kind=ActivityKind.CONFIG_CHANGE,
            message=f"{request.user.username} {verb} notification target {obj.name} ({url_mask(obj.url)}): {fields}",
            actor=request.user,
            payload={"notify_target": obj.pk, "fields": form.changed_data, "source": "admin"},
        )

    @admin.action(description="Send a test message")
    def send_test(self, request, queryset):
        for target in queryset:
            notify_test_queue(target=db_target(target), user=request.user)
        sends = reverse("admin:trading_notifysend_changelist")
        self.message_user(
            request,
            format_html(
                "Test message queued for {} target(s); the task cluster sends it within a minute. "
                'See <a href="{}">notifications sent</a> for the outcome.',
                queryset.count(),
                sends,
            ),
            messages.SUCCESS,
        )


@admin.register(NotifySend)
class NotifySendAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "target_label", "status", "attempts", "title", "error", "sent_at")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("title", "target_label")
    date_hierarchy = "created_at"
    exclude = ("target_key",)
