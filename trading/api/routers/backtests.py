"""Backtests: ask for one (it runs as a q2 task in the cluster, never on the IB worker) and follow its
progress; the finished result is the JSON `manage.py backtest --json` prints (docs/BACKTEST.md)."""

import datetime as dt
from typing import Any, Literal

from django.urls import reverse
from ninja import Path, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import Field

from trading.api.auth import WRITE
from trading.api.errors import ApiError
from trading.api.filters import Name
from trading.api.pagination import Page
from trading.api.responses import responses
from trading.backtest.engine import BacktestError
from trading.backtest.tasks import backtest_submit, backtests_expire_stale
from trading.models import Backtest, BacktestStatus

router = Router(tags=["backtests"])

INVALID_BACKTEST = "invalid_backtest"
BACKTEST_NOT_FOUND = "backtest_not_found"
MSG_NOT_FOUND = "no backtest #{backtest_id}"


class BacktestIn(Schema):
    strategy: str = Field(..., description="A strategy intent's name, e.g. spy_macd_vixy.")
    start: dt.date
    end: dt.date
    cash: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    exposure: float | None = Field(None, description="Overall exposure 0..1; default the settings' at submission.")
    strategy_exposure: float | None = Field(None, description="The strategy's weight 0..1; default its row's.")
    strategy_id: str | None = None
    commission: str = Field("ib-fixed", description="ib-fixed or a flat per-share rate like 0.005.")
    slippage_bps: float = Field(0.0, ge=0, le=10_000, allow_inf_nan=False)
    fill: Literal["next-open", "close"] = "next-open"
    every: str | None = Field(None, description='"16:15 America/New_York" or a bar size like "30 mins".')
    fetch: bool = Field(False, description="Ask the IB worker (fetch_bars) for missing bars first.")


class BacktestListed(Schema):
    """A backtest in the list: everything but the result (follow `url` for it)."""

    id: int
    strategy: str
    start: dt.date
    end: dt.date
    status: BacktestStatus
    progress: float
    settings: dict[str, Any]
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    url: str

    @staticmethod
    def resolve_url(backtest: Backtest) -> str:
        return reverse("api:backtest_get", kwargs={"backtest_id": backtest.pk})


class BacktestOut(BacktestListed):
    """One backtest, with its result once done (the CLI's `--json`)."""

    result: Any = None
    started_at: dt.datetime | None = None


class InvalidBacktest(ApiError):
    status, code = 422, INVALID_BACKTEST


class BacktestNotFound(ApiError):
    status, code = 404, BACKTEST_NOT_FOUND


@router.post(
    "/backtests", auth=WRITE, response=responses({202: BacktestOut}, 400, 403, 422), summary="Run a backtest",
    description="Queued for the q2 cluster; follow `url` for status, progress (0..1) and, once succeeded, the result.",
)  # fmt: skip
def backtest_post(request, body: BacktestIn):
    options = body.model_dump(exclude={"strategy", "start", "end"})
    try:
        backtest = backtest_submit(
            strategy=body.strategy, start=body.start, end=body.end, options=options, source=request.auth.source,
            user=request.auth.user,
        )  # fmt: skip
    except BacktestError as exc:
        raise InvalidBacktest(str(exc)) from None
    return Status(202, backtest)


@router.get("/backtests", response=responses({200: list[BacktestListed]}), summary="Backtests, newest first")
@paginate(Page)
def backtests_list(request, strategy: Name | None = None, status: BacktestStatus | None = None):
    backtests_expire_stale()
    backtests = Backtest.objects.defer("result").order_by("-created_at", "-id")
    if strategy:
        backtests = backtests.filter(strategy=strategy)
    if status:
        backtests = backtests.filter(status=status)
    return backtests


@router.get(
    "/backtests/{int:backtest_id}", response=responses({200: BacktestOut}, 404), url_name="backtest_get", summary="One backtest"
)
def backtest_get(request, backtest_id: int = Path(..., ge=1, le=2**63 - 1)):
    backtests_expire_stale()
    backtest = Backtest.objects.filter(pk=backtest_id).first()
    if backtest is None:
        raise BacktestNotFound(MSG_NOT_FOUND.format(backtest_id=backtest_id))
    return backtest
