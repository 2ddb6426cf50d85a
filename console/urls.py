from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "IB trading console"
admin.site.site_title = "IB console"
admin.site.index_title = "Control surface"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
