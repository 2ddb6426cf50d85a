"""Backtests in the admin: ask for one (a form, or the "Backtest" button on a strategy), watch its
progress, read its result page (equity, drawdown, trades on price, drawn with the vendored uPlot).
The work runs as a q2 task in the cluster (trading/backtest/tasks.py), never in this process."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from trading.admin.base import ReadOnlyAdmin
from trading.backtest.broker import FILL_RULES
from trading.backtest.engine import BacktestError
from trading.backtest.report import report_context
from trading.backtest.tasks import backtest_submit, backtests_expire_stale
from trading.intents.registry import intent_list
from trading.intents.strategy import StrategyIntent
from trading.models import Backtest, BacktestStatus, RunSource

NO_PERMISSION = "you need the 'add backtest' permission to run backtests"
QUEUED = "Backtest #{pk} of {strategy} queued for the task cluster."


def strategy_choices() -> list[tuple[str, str]]:
    return [(i.name, i.name) for i in intent_list() if issubclass(i, StrategyIntent)]


class BacktestForm(forms.Form):
    strategy = forms.ChoiceField(choices=strategy_choices)
    strategy_id = forms.CharField(required=False, help_text="Run under this strategy id (its weight); blank: the intent's own.")
    start = forms.DateField(initial=lambda: dt.date.today() - dt.timedelta(days=365))
    end = forms.DateField(initial=lambda: dt.date.today() - dt.timedelta(days=1))
    cash = forms.FloatField(initial=100_000, min_value=1)
    exposure = forms.FloatField(required=False, min_value=0, max_value=1, help_text="Overall exposure; blank: the settings' now.")
    strategy_exposure = forms.FloatField(required=False, min_value=0, max_value=1, help_text="Blank: the strategy's weight now.")
    commission = forms.CharField(initial="ib-fixed", help_text="ib-fixed ($0.005/share, $1 min, 1 % max) or a per-share rate.")
    slippage_bps = forms.FloatField(initial=0, min_value=0)
    fill = forms.ChoiceField(choices=[(rule, rule) for rule in FILL_RULES])
    every = forms.CharField(
        required=False, help_text='"16:15 America/New_York" or "30 mins"; blank: its schedule, else the close.'
    )
    fetch = forms.BooleanField(required=False, help_text="Ask the IB worker for missing bars first.")


@admin.register(Backtest)
class BacktestAdmin(ReadOnlyAdmin):
    list_display = ("id", "strategy", "start", "end", "status", "progress_shown", "total_return", "created_at")
    list_filter = ("status", "strategy")
    change_form_template = "admin/trading/backtest/result.html"

    def has_add_permission(self, request):
        return request.user.has_perm("trading.add_backtest")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("trading.view_backtest") or request.user.has_perm("trading.add_backtest")

    @admin.display(description="progress")
    def progress_shown(self, obj: Backtest) -> str:
        return format_html('<progress max="1" value="{}"></progress> {}%', obj.progress, round(obj.progress * 100))

    @admin.display(description="total return")
    def total_return(self, obj: Backtest):
        metrics = (obj.result or {}).get("metrics") or {}
        value = metrics.get("total_return")
        return "—" if value is None else f"{value:+.2%}"

    def get_urls(self):
        return [path("new/", self.admin_site.admin_view(self.new_view), name="trading_backtest_new")] + super().get_urls()

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(
            reverse("admin:trading_backtest_new") + (f"?{request.GET.urlencode()}" if request.GET else "")
        )

    def new_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied(NO_PERMISSION)
        form = BacktestForm(request.POST or None, initial={k: v for k, v in request.GET.items()})
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            try:
                backtest = backtest_submit(
                    strategy=data.pop("strategy"), start=data.pop("start"), end=data.pop("end"),
                    options={k: (v if v != "" else None) for k, v in data.items()}, source=RunSource.ADMIN,
                    user=request.user,
                )  # fmt: skip
            except BacktestError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, QUEUED.format(pk=backtest.pk, strategy=backtest.strategy))
                return HttpResponseRedirect(reverse("admin:trading_backtest_change", args=[backtest.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Backtest a strategy",
            "form": form,
            "submit_label": "Backtest",
            "intents": [],
            "mode": "backtest",
        }
        return TemplateResponse(request, "admin/trading/intent_form.html", context)

    def changelist_view(self, request, extra_context=None):
        backtests_expire_stale()
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        backtests_expire_stale()
        backtest = self.get_object(request, object_id)
        extra = {"backtest": backtest, "running": backtest and backtest.status in (BacktestStatus.QUEUED, BacktestStatus.RUNNING)}
        if backtest is not None and backtest.status == BacktestStatus.SUCCEEDED and backtest.result:
            extra.update(report_context(backtest.result))
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


def strategy_backtest_url(strategy_id: str) -> str:
    """The "Backtest" button of a strategy: the form, filled with its intent (when one has its name)."""
    from urllib.parse import urlencode

    names = {name for name, _ in strategy_choices()}
    query = {"strategy_id": strategy_id, **({"strategy": strategy_id} if strategy_id in names else {})}
    return reverse("admin:trading_backtest_new") + "?" + urlencode(query)
