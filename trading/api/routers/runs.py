"""Intent runs: one by id, or a filtered page of them."""

from ninja import Path, Query, Router
from ninja.pagination import paginate

from trading import selectors
from trading.api.csv import CSV_OPENAPI, csv_or_page
from trading.api.errors import MSG_RUN_NOT_FOUND, RunNotFound
from trading.api.filters import MAX_ID, RunFilters
from trading.api.pagination import Page
from trading.api.responses import responses
from trading.api.schemas import RunOut
from trading.exports import RUN_COLUMNS

router = Router(tags=["runs"])


@router.get("/runs", response=responses({200: list[RunOut]}), summary="Intent runs, newest first", openapi_extra=CSV_OPENAPI)
@csv_or_page(columns=RUN_COLUMNS, name="runs")
@paginate(Page)
def runs_list(request, filters: Query[RunFilters]):
    return selectors.run_list(**filters.model_dump())


@router.get("/runs/{int:run_id}", response=responses({200: RunOut}, 404), url_name="run_get", summary="One run")
def run_get(request, run_id: int = Path(..., ge=1, le=MAX_ID)):
    run = selectors.run_find(run_id)
    if run is None:
        raise RunNotFound(MSG_RUN_NOT_FOUND.format(run_id=run_id))
    return run
