"""Websocket routes: the live dashboard's consumer at /ws/live/."""

from trading.dashboard.routing import websocket_urlpatterns as dashboard_websockets

websocket_urlpatterns: list = [*dashboard_websockets]
