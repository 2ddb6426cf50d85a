"""ASGI entry point: HTTP (admin, dashboard, API) and websockets (live dashboard)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
# The web process serves each request in a thread of its own: a PostgreSQL connection pool saves a new
# connection per request (console/env.py database_config). DB_POOL=false turns it off. The default is
# set only while the settings load, so nothing this process starts later (a test's subprocess) inherits it.
_pool_default = "DB_POOL" not in os.environ
if _pool_default:
    os.environ["DB_POOL"] = "true"
try:
    django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application, with our handler
    from console.handler import SyncChainASGIHandler

    django_asgi_app = SyncChainASGIHandler()
finally:
    if _pool_default:
        del os.environ["DB_POOL"]

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from console.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
