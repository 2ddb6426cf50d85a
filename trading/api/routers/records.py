"""What the worker recorded: summary, orders, fills, positions, activity (database reads, no IB)."""

from ninja import Query, Router
from ninja.pagination import paginate

from trading import selectors
from trading.api.csv import CSV_OPENAPI, csv_or_page
from trading.api.filters import ActivityFilters, FillFilters, OrderFilters, PositionFilters
from trading.api.pagination import Page
from trading.api.responses import responses
from trading.api.schemas import ActivityOut, FillOut, OrderOut, PositionOut, SummaryOut
from trading.exports import ACTIVITY_COLUMNS, FILL_COLUMNS, ORDER_COLUMNS
from trading.models import TradingMode

router = Router(tags=["records"])


@router.get("/summary", response=responses({200: SummaryOut}), summary="Account values, positions, open orders and today's fills")
def summary(request, mode: TradingMode | None = None):
    return selectors.summary_latest(mode=mode)


@router.get("/orders", response=responses({200: list[OrderOut]}), summary="Orders, newest first", openapi_extra=CSV_OPENAPI)
@csv_or_page(columns=ORDER_COLUMNS, name="orders")
@paginate(Page)
def orders_list(request, filters: Query[OrderFilters]):
    return selectors.order_list(**filters.model_dump())


@router.get("/fills", response=responses({200: list[FillOut]}), summary="Executions, newest first", openapi_extra=CSV_OPENAPI)
@csv_or_page(columns=FILL_COLUMNS, name="fills")
@paginate(Page)
def fills_list(request, filters: Query[FillFilters]):
    return selectors.fill_list(**filters.model_dump())


@router.get("/positions", response=responses({200: list[PositionOut]}), summary="Current positions (not flat)")
def positions_list(request, filters: Query[PositionFilters]):
    return selectors.position_list(**filters.model_dump())


@router.get(
    "/activity", response=responses({200: list[ActivityOut]}), summary="The activity log, newest first", openapi_extra=CSV_OPENAPI
)
@csv_or_page(columns=ACTIVITY_COLUMNS, name="activity")
@paginate(Page)
def activity_list(request, filters: Query[ActivityFilters]):
    return selectors.activity_list(**filters.model_dump())
