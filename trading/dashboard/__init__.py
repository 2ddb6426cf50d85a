"""The live dashboard: a page (views.py), its websocket (consumers.py), its snapshot and its actions."""
