"""Notifications: activity-log entries become messages to apprise targets, sent from the q2 cluster.

    activity log ──feed (cursor)──▶ outbox (NotifySend rows, one pending per target+kind) ──deliver──▶ apprise
       worker, web, intents            a burst gathers in one pending row                sent | retried | failed

See trading/notify/outbox.py for the life cycle of a send and docs/NOTIFICATIONS.md for people.
"""
