"""Writes that must land together, in as few database round trips as the backend allows.

`update_then_insert`: an UPDATE and, only when it matched, an INSERT (a run's outcome and its activity
entry). In a transaction that is four round trips on PostgreSQL (BEGIN, UPDATE, INSERT, COMMIT), each
one a wait on the server for the worker's database thread. PostgreSQL runs both as one statement: a
data-modifying CTE, atomic by itself (`WITH updated AS (UPDATE … RETURNING 1) INSERT … SELECT … FROM
updated`), one round trip. Both statements are Django's own, compiled from the queryset and the
model instance (so their columns and values are the ORM's: a migrated column is in them), and only
joined here. Other backends (SQLite: no data-modifying CTE, and no round trips to save) run the two
statements through the ORM in a transaction.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.sql import InsertQuery, UpdateQuery

VALUES = " VALUES ("


def update_then_insert(rows: QuerySet, values: dict, entry: Model) -> bool:
    """UPDATE `rows` with `values`; only if that matched a row, INSERT `entry` (its pk set, as by
    `save()`). One commit for both; True when the rows were updated."""
    using = rows.db
    if connections[using].vendor != "postgresql" or connections[using].in_atomic_block:
        with transaction.atomic(using=using):
            if not rows.update(**values):
                return False
            entry.save(using=using)
        return True
    sql, params = _statement(rows, values, entry, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk = row[0]
    entry._state.adding, entry._state.db = False, using
    return True


def _statement(rows: QuerySet, values: dict, entry: Model, using: str) -> tuple[str, tuple]:
    update = rows.query.chain(UpdateQuery)
    update.add_update_values(values)
    update_sql, update_params = update.get_compiler(using).as_sql()
    meta = entry._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]
    insert = InsertQuery(type(entry))
    insert.insert_values(fields, [entry])
    [(insert_sql, insert_params)] = insert.get_compiler(using).as_sql()
    head, found, placeholders = insert_sql.partition(VALUES)
    if not found or not placeholders.endswith(")"):  # Django's INSERT changed shape: refuse, never guess
        raise RuntimeError(f"update_then_insert: unexpected INSERT from Django: {insert_sql}")
    quote = connections[using].ops.quote_name
    sql = (
        f"WITH updated AS ({update_sql} RETURNING 1) "
        f"{head} SELECT {placeholders[:-1]} FROM updated RETURNING {quote(meta.db_table)}.{quote(meta.pk.column)}"
    )
    return sql, (*update_params, *insert_params)
