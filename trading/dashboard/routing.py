"""The dashboard's websocket route, included by console/routing.py."""

from django.urls import path

from trading.dashboard.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/live/", LiveConsumer.as_asgi()),
]
