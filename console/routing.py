"""Websocket routes (the live dashboard's consumer is added by the dashboard)."""

websocket_urlpatterns: list = []
