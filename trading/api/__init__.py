"""The REST API (django-ninja): intents, runs, records, settings switches, webhook, seed paths.

See `api.py` for the instances, `urls.py` for mounting, docs/API.md for callers.
"""
