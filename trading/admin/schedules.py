"""The "Intent schedule" page: schedule an intent the way a trader thinks of it.

Pick the intent (from the registry), fill in its parameters as form fields (validated by its schema),
choose cron or an interval in minutes, enable it or not. The page shows the next five run times in the
display zone and has Enable/Disable and Run-now buttons. Underneath it is a django-q2 Schedule row
calling `intent_scheduled` (trading/intents/schedules.py does the writing).

django-q2's own schedule list stays (with Enable/Disable actions); its raw add/change form is off the
trader's path: "add" lands here, and an intent schedule's change link opens this page (the raw form is
still at `?raw=1` for schedules that do not run an intent, or for the curious).

URLs (under the scheduled-tasks admin): `intent/` (new), `<pk>/intent/` (edit), and POST-only
`<pk>/intent/enable/`, `<pk>/intent/disable/`, `<pk>/intent/run/`.
"""

from __future__ import annotations

import django_q.admin  # noqa: F401  (registers django-q2's admin first, so it can be replaced here)
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django_q.admin import ScheduleAdmin
from django_q.models import Schedule

from trading.admin.params_fields import params_field_name, params_form_fields, params_from_form, params_initial
from trading.clock import local_text, zone_label
from trading.intents.registry import IntentNotFound, intent_get, intent_list
from trading.intents.runs import IntentParamsInvalid, WorkerUnavailable
from trading.intents.schedules import (
    RUN_TIME_FORMAT,
    schedule_disable,
    schedule_enable,
    schedule_intent,
    schedule_next_run_text,
    schedule_next_runs,
    schedule_run_now,
    schedule_save,
    scheduler_zone,
)

CRON, INTERVAL = "cron", "interval"
NO_PERMISSION = "You may not {what}."
SAVED = "Schedule {name!r} saved ({state}); next run: {next}."
RUN_QUEUED = 'Run #{pk} ({intent}{dry}) queued now from schedule {name!r}: <a href="{url}">follow it</a>.'
NEEDS_CRON = "Enter a cron expression, or choose an interval."
NEEDS_MINUTES = "Enter the interval in minutes, or choose cron."


class IntentScheduleForm(forms.Form):
    """Name, timing and switches; the intent's own parameter fields are added per intent."""

    name = forms.CharField(max_length=100)
    intent = forms.CharField(widget=forms.HiddenInput)
    dry_run = forms.BooleanField(
        required=False, initial=True, label="Dry run", help_text="Each run plans and records; sends nothing to IB."
    )
    timing = forms.ChoiceField(choices=[(CRON, "Cron"), (INTERVAL, "Every N minutes")], initial=CRON, widget=forms.RadioSelect)
    cron = forms.CharField(max_length=100, required=False, initial="15 16 * * 1-5")
    minutes = forms.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60, label="Interval (minutes)")
    enabled = forms.BooleanField(required=False, initial=False, help_text="Off: saved but never fires until enabled.")
    account = forms.CharField(
        required=False, max_length=32, help_text="The IB account each run trades; blank: the only one (several: name one)."
    )

    def __init__(self, *args, schema: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.schema = schema
        zone = scheduler_zone().key
        self.fields["cron"].help_text = (
            f"minute hour day month weekday, read in {zone} (the scheduler's zone, SCHEDULE_TIME_ZONE);"
            " e.g. 15 16 * * 1-5 is 16:15 on weekdays."
        )
        self.fields.update(params_form_fields(schema))

    def clean(self):
        data = super().clean()
        if data.get("timing") == CRON and not (data.get("cron") or "").strip():
            self.add_error("cron", NEEDS_CRON)
        if data.get("timing") == INTERVAL and not data.get("minutes"):
            self.add_error("minutes", NEEDS_MINUTES)
        return data

    def param_fields(self):
        return [field for field in self if field.name.startswith("param_")]

    def schedule_fields(self):
        return [self[name] for name in ("name", "timing", "cron", "minutes", "dry_run", "account", "enabled")]


def _initial(schedule: Schedule | None, intent: str) -> dict:
    if schedule is None:
        return {"intent": intent}
    call = schedule_intent(schedule) or {}
    same = call.get("intent") == intent
    return {
        "intent": intent,
        "name": schedule.name,
        "dry_run": call.get("dry_run", True) is not False,
        "timing": INTERVAL if schedule.schedule_type == Schedule.MINUTES else CRON,
        "cron": schedule.cron or "",
        "minutes": schedule.minutes,
        "enabled": schedule.repeats != 0,
        "account": (call.get("params") or {}).get("account", ""),
        **params_initial(intent_get(intent).params_schema(), (call.get("params") or {}) if same else {}),
    }


class IntentSchedulePages:
    """The views, mixed into the scheduled-tasks admin (they use its site, permissions and URLs)."""

    def intent_schedule_urls(self):
        view = self.admin_site.admin_view
        return [
            path("intent/", view(self.intent_schedule_view), name="django_q_schedule_intent_add"),
            path("<int:pk>/intent/", view(self.intent_schedule_view), name="django_q_schedule_intent"),
            path("<int:pk>/intent/<str:action>/", view(self.intent_schedule_action), name="django_q_schedule_intent_action"),
        ]

    def intent_schedule_view(self, request, pk: int | None = None):
        schedule = get_object_or_404(Schedule, pk=pk) if pk is not None else None
        perm = "django_q.change_schedule" if schedule else "django_q.add_schedule"
        if not request.user.has_perm(perm):
            raise PermissionDenied(NO_PERMISSION.format(what="change schedules" if schedule else "create schedules"))
        call = schedule_intent(schedule) if schedule else None
        if schedule is not None and call is None:
            return HttpResponseRedirect(reverse("admin:django_q_schedule_change", args=[schedule.pk]) + "?raw=1")
        names = [intent.name for intent in intent_list()]
        intent = request.POST.get("intent") or request.GET.get("intent") or (call or {}).get("intent") or names[0]
        if intent not in names:
            raise Http404(f"no intent {intent!r}")
        schema = intent_get(intent).params_schema()
        form = IntentScheduleForm(request.POST or None, schema=schema, initial=_initial(schedule, intent))
        if request.method == "POST" and form.is_valid():
            saved = self._schedule_save(request, form, schedule)
            if saved is not None:
                state = "enabled" if saved.repeats != 0 else "disabled"
                messages.success(request, SAVED.format(name=saved.name, state=state, next=schedule_next_run_text(saved)))
                return HttpResponseRedirect(reverse("admin:django_q_schedule_intent", args=[saved.pk]))
        return self._intent_schedule_render(request, form, schedule, intent, names)

    def _schedule_save(self, request, form, schedule: Schedule | None) -> Schedule | None:
        data = form.cleaned_data
        interval = data["timing"] == INTERVAL
        try:
            return schedule_save(
                schedule=schedule or Schedule(), name=data["name"], intent=data["intent"],
                params={**params_from_form(form.schema, data), **({"account": data["account"]} if data.get("account") else {})},
                dry_run=data["dry_run"],
                cron="" if interval else data["cron"], minutes=data["minutes"] if interval else None,
                enabled=data["enabled"], user=request.user,
            )  # fmt: skip
        except IntentParamsInvalid as exc:
            for error in exc.errors:
                if error["loc"] == ["account"]:
                    form.add_error("account", error["msg"])
                    continue
                field = params_field_name(error["loc"])
                where = ".".join(map(str, error["loc"][1:]))
                message = f"{where}: {error['msg']}" if where else error["msg"]
                form.add_error(field if field in form.fields else None, message)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        except IntentNotFound as exc:
            form.add_error(None, str(exc))
        return None

    def _intent_schedule_render(self, request, form, schedule, intent: str, names: list[str]):
        intent_cls = intent_get(intent)
        next_runs = [local_text(moment, RUN_TIME_FORMAT) for moment in schedule_next_runs(schedule)] if schedule else []
        context = {
            **self.admin_site.each_context(request),
            "opts": Schedule._meta,
            "title": f"Intent schedule: {schedule.name}" if schedule else "Schedule an intent",
            "form": form,
            "schedule": schedule,
            "intent": intent_cls.describe(),
            "intent_names": names,
            "next_runs": next_runs,
            "display_zone": zone_label(),
            "scheduler_zone": scheduler_zone().key,
            "can_run": request.user.has_perm("trading.add_intentrun"),
        }
        return TemplateResponse(request, "admin/trading/intent_schedule.html", context)

    def intent_schedule_action(self, request, pk: int, action: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        schedule = get_object_or_404(Schedule, pk=pk)
        back = HttpResponseRedirect(reverse("admin:django_q_schedule_intent", args=[schedule.pk]))
        if action in ("enable", "disable"):
            if not request.user.has_perm("django_q.change_schedule"):
                raise PermissionDenied(NO_PERMISSION.format(what="change schedules"))
            (schedule_enable if action == "enable" else schedule_disable)(schedule=schedule, user=request.user)
            messages.success(request, f"{schedule.name}: {action}d; next run {schedule_next_run_text(schedule)}.")
            return back
        if action != "run":
            raise Http404(f"no action {action!r}")
        if not request.user.has_perm("trading.add_intentrun"):
            raise PermissionDenied(NO_PERMISSION.format(what="run intents"))
        try:
            run = schedule_run_now(schedule=schedule, user=request.user)
        except (IntentParamsInvalid, WorkerUnavailable, IntentNotFound, ValueError) as exc:
            messages.error(request, f"Not run: {exc}")
            return back
        url = reverse("admin:trading_intentrun_change", args=[run.pk])
        dry = " dry run" if run.dry_run else ""
        messages.success(request, format_html(RUN_QUEUED, pk=run.pk, intent=run.intent, dry=dry, name=schedule.name, url=url))
        return back


admin.site.unregister(Schedule)


@admin.register(Schedule)
class IntentScheduleAdmin(IntentSchedulePages, ScheduleAdmin):
    """django-q2's schedules: the list (with enable/disable actions and the intent each runs); adding
    and changing an intent schedule happen on the Intent schedule page."""

    change_list_template = "admin/trading/schedule/change_list.html"
    list_display = ("id", "name", "intent", "enabled", "timing", "next_run_text", "get_last_run", "get_success")
    actions = ["enable", "disable"]

    def get_urls(self):
        return self.intent_schedule_urls() + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        if "raw" in request.GET:
            return super().add_view(request, form_url, extra_context)
        return HttpResponseRedirect(reverse("admin:django_q_schedule_intent_add"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        schedule = Schedule.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if schedule is not None and "raw" not in request.GET and schedule_intent(schedule) is not None:
            return HttpResponseRedirect(reverse("admin:django_q_schedule_intent", args=[schedule.pk]))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="intent")
    def intent(self, obj):
        call = schedule_intent(obj)
        if call is None:
            return obj.func
        params = ", ".join(f"{k}={v}" for k, v in (call.get("params") or {}).items())
        dry = " (dry run)" if call.get("dry_run") else ""
        return f"{call['intent']}({params}){dry}"

    @admin.display(description="enabled", boolean=True)
    def enabled(self, obj):
        return obj.repeats != 0

    @admin.display(description="when")
    def timing(self, obj):
        if obj.schedule_type == Schedule.MINUTES:
            return f"every {obj.minutes} min"
        if obj.schedule_type == Schedule.CRON:
            return f"cron {obj.cron} ({scheduler_zone().key})"
        return obj.get_schedule_type_display()

    @admin.display(description="next run")
    def next_run_text(self, obj):
        return schedule_next_run_text(obj)

    @admin.action(description="Enable (next run computed from now)", permissions=["change"])
    def enable(self, request, queryset):
        for schedule in queryset:
            schedule_enable(schedule=schedule, user=request.user)
            messages.success(request, f"{schedule.name or schedule.pk}: enabled, next run {schedule_next_run_text(schedule)}.")

    @admin.action(description="Disable (repeats = 0)", permissions=["change"])
    def disable(self, request, queryset):
        for schedule in queryset:
            schedule_disable(schedule=schedule, user=request.user)
        messages.success(request, f"{queryset.count()} schedule(s) disabled.")
