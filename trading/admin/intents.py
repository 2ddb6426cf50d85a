"""Run an intent and schedule intents from the admin.

- "Run an intent…" (on the intent runs list): intent, JSON parameters, dry run (checked by default);
  submitted through the one submission path (`run_submit`, source admin, requested by the user).
- "Schedule an intent…" leads to the Intent schedule page (trading/admin/schedules.py).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from trading.admin.runs import IntentRunAdmin
from trading.config import effective_config
from trading.intents.registry import IntentNotFound, intent_list
from trading.intents.runs import IntentParamsInvalid, WorkerUnavailable, run_submit
from trading.models import IntentRun, RunSource, TradingMode

PARAMS_NOT_OBJECT = 'Parameters must be a JSON object, e.g. {"strategies": ["spy_macd_vixy"]}.'
PARAMS_NOT_JSON = "Parameters are not valid JSON: {error}"
CONFIRM_LIVE = "This run sends real orders in LIVE mode: tick 'confirm live' to go ahead."
RUN_QUEUED = 'Run #{pk} ({intent}{dry}) queued: <a href="{url}">follow it</a>.'
NO_PERMISSION = "You may not {what}."


def _intent_choices() -> list[tuple[str, str]]:
    return [(intent.name, intent.name) for intent in intent_list()]


class IntentParamsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4, "cols": 80, "class": "vLargeTextField", "spellcheck": "false"})

    def to_python(self, value):
        text = (super().to_python(value) or "").strip() or "{}"
        try:
            params = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(PARAMS_NOT_JSON.format(error=exc)) from None
        if not isinstance(params, dict):
            raise ValidationError(PARAMS_NOT_OBJECT)
        return params


class IntentRunForm(forms.Form):
    intent = forms.ChoiceField(choices=_intent_choices)
    params = IntentParamsField(
        required=False, initial="{}", help_text="JSON object; the seed's names work (freshMinutes, strategies, …)."
    )
    account = forms.CharField(
        required=False, max_length=32, help_text="The IB account it trades; blank: the only one (refused when there are several)."
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Dry run", help_text="Plan and record; send nothing to IB.")
    confirm_live = forms.BooleanField(required=False, label="Confirm live", help_text="Needed for a real run in LIVE mode.")

    def clean(self):
        data = super().clean()
        live = effective_config().mode == TradingMode.LIVE
        if live and not data.get("dry_run") and not data.get("confirm_live"):
            raise ValidationError(CONFIRM_LIVE)
        return data


def params_errors(form: forms.Form, exc: IntentParamsInvalid) -> None:
    for error in exc.errors:
        if error["loc"] == ["account"] and "account" in form.fields:
            form.add_error("account", error["msg"])
            continue
        where = ".".join(map(str, error["loc"])) or "parameters"
        form.add_error("params", f"{where}: {error['msg']}")


admin.site.unregister(IntentRun)


@admin.register(IntentRun)
class IntentRunConsoleAdmin(IntentRunAdmin):
    """The read-only runs list, plus the pages that start runs and schedule them."""

    change_list_template = "admin/trading/intentrun/change_list.html"

    def get_urls(self):
        urls = [
            path("run/", self.admin_site.admin_view(self.run_view), name="trading_intentrun_run"),
            # "Schedule an intent…" lands on the Intent schedule page (trading/admin/schedules.py).
            path("schedule/", self.admin_site.admin_view(self.schedule_view), name="trading_intentrun_schedule"),
        ]
        return urls + super().get_urls()

    def run_view(self, request):
        if not request.user.has_perm("trading.add_intentrun"):
            raise PermissionDenied(NO_PERMISSION.format(what="run intents"))
        form = IntentRunForm(request.POST or None, initial={"intent": request.GET.get("intent")})
        if request.method == "POST" and form.is_valid():
            run = self._submit(request, form)
            if run is not None:
                url = reverse("admin:trading_intentrun_change", args=[run.pk])
                dry = " dry run" if run.dry_run else ""
                messages.success(request, format_html(RUN_QUEUED, pk=run.pk, intent=run.intent, dry=dry, url=url))
                return HttpResponseRedirect(reverse("admin:trading_intentrun_run") + f"?intent={run.intent}")
        return self._render(request, form, title="Run an intent", submit="Run")

    def _submit(self, request, form) -> IntentRun | None:
        data = form.cleaned_data
        try:
            run, _ = run_submit(
                intent=data["intent"], params=data["params"], dry_run=data["dry_run"],
                source=RunSource.ADMIN, requested_by=request.user, account=data.get("account") or None,
            )  # fmt: skip
        except IntentParamsInvalid as exc:
            params_errors(form, exc)
        except (WorkerUnavailable, IntentNotFound) as exc:
            form.add_error(None, str(exc))
        else:
            return run
        return None

    def schedule_view(self, request):
        return HttpResponseRedirect(reverse("admin:django_q_schedule_intent_add") + _intent_query(request))

    def _render(self, request, form, *, title: str, submit: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "submit_label": submit,
            "intents": [
                {**intent.describe(), "schema": json.dumps(intent.params_schema(), indent=1)} for intent in intent_list()
            ],
            "mode": effective_config().mode,
        }
        return TemplateResponse(request, "admin/trading/intent_form.html", context)


def _intent_query(request) -> str:
    intent = request.GET.get("intent")
    return f"?{urlencode({'intent': intent})}" if intent else ""
