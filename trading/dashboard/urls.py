from django.contrib.auth import views as auth_views
from django.urls import path

from trading.auth.forms import ConsoleLoginForm
from trading.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("performance/", views.performance, name="performance"),
    # Its own login: the admin's login form only admits staff, and traders need not be staff.
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html", next_page="dashboard:index", authentication_form=ConsoleLoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
    path("two-factor/", views.two_factor, name="two_factor"),
]
