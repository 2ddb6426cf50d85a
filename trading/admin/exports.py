"""Export CSV from a record list: the "Export CSV" link takes the list as filtered and searched now
(every matching row, not one page); the "Export selected rows as CSV" action takes the ticked rows, or
all matching ones after "Select all". Both stream through trading/exports.py."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

from trading.exports import Column, csv_response


class CsvExportMixin:
    """For a ModelAdmin: set `export_columns` and `export_name` (the file's name before its date)."""

    export_columns: Sequence[Column] = ()
    export_name = ""
    actions = ("export_csv",)
    change_list_template = "admin/trading/csv_change_list.html"

    @admin.action(description="Export selected rows as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return csv_response(rows=queryset, columns=self.export_columns, name=self.export_name, request=request)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export/", self.admin_site.admin_view(self.export_view), name=name), *super().get_urls()]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = self.get_changelist_instance(request).get_queryset(request)  # the list's filters, search, order
        return csv_response(rows=rows, columns=self.export_columns, name=self.export_name, request=request)
