"""What the read-only record lists share: no hand edits, compact columns, times in the display zone.

The lists must fit a 1280 px screen: a time is `2026-11-30 09:31:02` under a header naming the zone
(`Created (EST)`), quantities and prices lose their trailing zeros, and an order reads `BUY 10 SPY`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib import admin
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.html import format_html

from trading.clock import display_zone, local_text

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the worker and the intents: viewable, searchable, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _zone_header(label: str) -> str:
    return f"{label} ({datetime.now(display_zone()):%Z})"


zone_header = lazy(_zone_header, str)  # evaluated per page, so a change of display zone shows at once


def local_time(field: str, label: str):
    """A list column showing `field` in the display zone, sortable by it."""

    @admin.display(description=zone_header(label), ordering=field)
    def column(self, obj):
        return local_text(getattr(obj, field), TIME_FORMAT) or "–"

    column.__name__ = f"{field}_local"
    return column


def number(value: Decimal | None) -> str:
    """10.0000 → 10, 450.100000 → 450.1; None → –."""
    if value is None:
        return "–"
    return format(value.normalize(), "f")


def order_words(order) -> str:
    """`BUY 10 SPY`."""
    return f"{order.action} {number(order.total_quantity)} {order.symbol}"


def order_type_words(order) -> str:
    """`MKT`, `LMT 450.1`, `STP LMT 451 450`."""
    prices = [number(price) for price in (order.lmt_price, order.aux_price) if price is not None]
    return " ".join([order.order_type, *prices])


def fill_words(fill) -> str:
    """`SELL 10 SPY @ 450.25`."""
    return f"{fill.side} {number(fill.shares)} {fill.symbol} @ {number(fill.price)}"


def run_link(obj) -> str:
    """A record's run as a short link (`#12`, the intent in its tooltip): the list stays narrow."""
    if not obj.run_id:
        return "–"
    url = reverse("admin:trading_intentrun_change", args=[obj.run_id])
    return format_html('<a href="{}" title="{}">#{}</a>', url, obj.run.intent, obj.run_id)
