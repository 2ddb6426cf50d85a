"""console.asgi's application with Django's own ASGI handler for HTTP (the middleware chain in async
mode): the "before" of bench/web_overhead.py. Not for serving."""

from channels.routing import ProtocolTypeRouter
from django.core.handlers.asgi import ASGIHandler

from console.asgi import application as console_application

application = ProtocolTypeRouter({"http": ASGIHandler(), "websocket": console_application.application_mapping["websocket"]})
