"""Writes that must land together, in as few database round trips as the backend allows.

`update_then_insert`: an UPDATE and, only when it matched, an INSERT (a run's outcome and its activity
entry). In a transaction that is four round trips on PostgreSQL (BEGIN, UPDATE, INSERT, COMMIT), each
one a wait on the server for the worker's database thread. PostgreSQL runs both as one statement: a
data-modifying CTE, atomic by itself (`WITH updated AS (UPDATE … RETURNING 1) INSERT … SELECT … FROM
updated`), one round trip. Both statements are Django's own, compiled from the queryset and the
model instance (so their columns and values are the ORM's: a migrated column is in them), and only
joined here. Other backends (SQLite: no data-modifying CTE, and no round trips to save) run the two
statements through the ORM in a transaction.

`insert_then_entry`: a row and the activity entry that names it (a submitted run and its "queued"
entry), whose foreign key and message need the row's new id. In a transaction that is again four round
trips on PostgreSQL (BEGIN, INSERT, INSERT, COMMIT); there it is one: `WITH inserted AS (INSERT …
RETURNING id) INSERT … SELECT …, inserted.id, … FROM inserted`, the message put together around the id
by the server.
"""

from __future__ import annotations

from django.db import connections, router, transaction
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


def insert_then_entry(row: Model, entry: Model, *, link: str, message: tuple[str, str]) -> None:
    """INSERT `row`, then `entry` naming it: `entry`'s foreign key `link` set to the new row, and its
    `message` the text `message[0] + str(row.pk) + message[1]`. One commit for both (on PostgreSQL one
    statement, outside a transaction); both come back saved, their pks set. A unique constraint the row
    breaks raises IntegrityError, with nothing written."""
    using = router.db_for_write(type(row), instance=row)
    before, after = message
    limit = entry._meta.get_field("message").max_length
    if limit:  # room for any id: the message fits its column on every path
        after = after[: max(0, limit - len(before) - len(str(2**63)))]
        message = (before, after)
    if connections[using].vendor != "postgresql" or connections[using].in_atomic_block:
        with transaction.atomic(using=using):
            row.save(using=using)
            setattr(entry, link, row)
            entry.message = f"{before}{row.pk}{after}"
            entry.save(using=using)
        return
    sql, params = _insert_then_entry_statement(row, entry, link, message, using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        entry_pk, row_pk = cursor.fetchone()
    row.pk = row_pk
    setattr(entry, entry._meta.get_field(link).attname, row_pk)
    entry.pk, entry.message = entry_pk, f"{before}{row_pk}{after}"
    for saved in (row, entry):
        saved._state.adding, saved._state.db = False, using


def _insert(instance: Model, using: str) -> tuple[str, str, tuple, list]:
    """Django's own INSERT of `instance` (no RETURNING): its head (up to VALUES), its placeholders, its
    parameters and the fields they are for, in order."""
    meta = instance._meta
    fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]
    insert = InsertQuery(type(instance))
    insert.insert_values(fields, [instance])
    [(sql, params)] = insert.get_compiler(using).as_sql()
    head, found, placeholders = sql.partition(VALUES)
    if not found or not placeholders.endswith(")"):  # Django's INSERT changed shape: refuse, never guess
        raise RuntimeError(f"dbwrites: unexpected INSERT from Django: {sql}")
    return head, placeholders[:-1], tuple(params), fields


def _insert_then_entry_statement(row: Model, entry: Model, link: str, message: tuple[str, str], using: str) -> tuple[str, tuple]:
    row_head, row_placeholders, row_params, _ = _insert(row, using)
    head, placeholders, params, fields = _insert(entry, using)
    if placeholders != ", ".join(["%s"] * len(fields)) or len(params) != len(fields):  # one plain value per column
        raise RuntimeError(f"dbwrites: unexpected INSERT placeholders from Django: {placeholders}")
    quote = connections[using].ops.quote_name
    row_pk = f"inserted.{quote(row._meta.pk.column)}"
    linked = entry._meta.get_field(link).attname
    select, values = [], []
    for field, value in zip(fields, params, strict=True):
        if field.attname == linked:
            select.append(row_pk)
        elif field.attname == "message":
            select.append(f"(%s || {row_pk}::text || %s)")
            values.extend(message)
        else:
            select.append("%s")
            values.append(value)
    table = quote(entry._meta.db_table)
    sql = (
        f"WITH inserted AS ({row_head}{VALUES}{row_placeholders}) RETURNING {quote(row._meta.pk.column)}) "
        f"{head} SELECT {', '.join(select)} FROM inserted "
        f"RETURNING {table}.{quote(entry._meta.pk.column)}, {table}.{quote(entry._meta.get_field(link).column)}"
    )
    return sql, (*row_params, *values)


def _statement(rows: QuerySet, values: dict, entry: Model, using: str) -> tuple[str, tuple]:
    update = rows.query.chain(UpdateQuery)
    update.add_update_values(values)
    update_sql, update_params = update.get_compiler(using).as_sql()
    head, placeholders, insert_params, _ = _insert(entry, using)
    quote = connections[using].ops.quote_name
    meta = entry._meta
    sql = (
        f"WITH updated AS ({update_sql} RETURNING 1) "
        f"{head} SELECT {placeholders} FROM updated RETURNING {quote(meta.db_table)}.{quote(meta.pk.column)}"
    )
    return sql, (*update_params, *insert_params)
