"""The worker's database threads (recorder, intents, heartbeat) are long-lived: each keeps its connection.

Django's `close_old_connections()` is made for requests: with the default `CONN_MAX_AGE = 0` it closes
the connection every time, so a thread calling it before each batch paid a new connection per batch
(on PostgreSQL a TCP connect and authentication, several milliseconds). These threads call
`connection_refresh()` instead: the connection stays open, and only one that failed is checked and
replaced if the database dropped it (a restart, `pg_terminate_backend`), so the next attempt reconnects.

With DEBUG on Django logs every query of a connection (up to 9,000) and empties the log only when a
request starts; these threads serve no request, so each would hold its last 9,000 statements for good.
`connection_refresh()` empties it: what a batch ran is still there while the batch runs.
"""

from __future__ import annotations

from django.db import connection


def connection_refresh() -> None:
    connection.queries_log.clear()  # only ever filled with DEBUG on (see above)
    if connection.connection is None:
        return
    if connection.errors_occurred or connection.get_autocommit() != connection.settings_dict["AUTOCOMMIT"]:
        if connection.is_usable() and connection.get_autocommit():
            connection.errors_occurred = False
        else:
            connection.close()
