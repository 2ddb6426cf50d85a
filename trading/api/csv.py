"""CSV on the paginated list endpoints: `?format=csv` or `Accept: text/csv` answers every matching row.

`csv_or_page` sits between the router and `@paginate`: it adds the `format` query parameter, and for CSV
calls the undecorated list (the selector's queryset, the same filters as the JSON) and streams it
through trading/exports.py, so limit/offset do not apply and nothing is held in memory. `format`
wins over `Accept`; without either the answer stays the JSON page. An unknown `format` is a 422
`validation_error` naming the values allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Literal

from django.utils.cache import patch_vary_headers
from ninja import Field, Query, Schema

from trading.exports import Column, csv_response

JSON = "application/json"
CSV = "text/csv"
# openapi_extra for the operation: the 200 answer may also be a CSV file.
CSV_OPENAPI = {
    "responses": {
        200: {
            "description": "A page of items as JSON, or with `format=csv` / `Accept: text/csv` every matching item as CSV",
            "content": {CSV: {"schema": {"type": "string", "description": "CSV, a header line then one row per item"}}},
        }
    }
}


class FormatQuery(Schema):
    format: Literal["json", "csv"] | None = Field(
        None,
        description="`csv`: every matching row as a CSV file (limit and offset ignored; times in the display zone). "
        "Also chosen by `Accept: text/csv`. Default: a JSON page.",
    )


def csv_wanted(request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return request.get_preferred_type([JSON, CSV]) == CSV


def csv_or_page(*, columns: Sequence[Column], name: str) -> Callable:
    """Decorate a `@paginate`d list view so it can also answer the whole list as CSV."""

    def decorate(paged_view: Callable) -> Callable:
        rows_view = paged_view.__wrapped__  # the list before pagination: a queryset

        @wraps(paged_view)
        def view(request, **kwargs):
            fmt = kwargs.pop("ninja_format").format
            if not csv_wanted(request, fmt):
                return paged_view(request, **kwargs)
            kwargs.pop("ninja_pagination", None)
            response = csv_response(rows=rows_view(request, **kwargs), columns=columns, name=name, request=request)
            patch_vary_headers(response, ["Accept"])
            return response

        view._ninja_contribute_args = [
            *getattr(paged_view, "_ninja_contribute_args", []),
            ("ninja_format", FormatQuery, Query(...)),
        ]
        return view

    return decorate
