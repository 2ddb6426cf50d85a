from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from trading.observability.web import metrics_view

admin.site.site_header = "IB trading console"
admin.site.site_title = "IB console"
admin.site.index_title = "Control surface"

urlpatterns = [
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),  # browsers ask for it
    path("admin/", admin.site.urls),
    path("dashboard/", include("trading.dashboard.urls")),
    path("api/", include("trading.api.urls")),
    path("metrics", metrics_view, name="metrics"),  # Prometheus: an API token or localhost (docs/DEPLOY.md)
    path("", include("trading.api.seed_urls")),  # the seed's /summary, /close-all, …
    # The dashboard asks anonymous visitors to log in first (LOGIN_URL), then brings them back.
    path("", RedirectView.as_view(pattern_name="dashboard:index", permanent=False)),
]
