"""Reads made on every request, with their SQL put together once per process.

The ORM compiles a queryset's SQL each time it is evaluated. For the API token check, which every API
request makes, that compile is most of its cost: 389 µs through the ORM, against 35 µs for the same
SELECT written once (in process, SQLite; bench/hot_reads.py). The settings (`effective_config`: every
submission and every order) and the routing read (every submission) are read so too. `ModelRead` is that SELECT, built from the model's
own metadata, for each database alias on first use. Its rows become model instances exactly as the
ORM makes them: the backend's and the fields' database converters, then `Model.from_db`.
`tests/test_dbreads.py` compares it with the ORM's instances on both backends.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Model


class ModelRead:
    """SELECT every column of `model` (table alias `t`) and, with `related` (a foreign key of it), of
    the row it names (alias `r`, joined; set on each instance as that relation, as select_related does),
    WHERE `where`: SQL over those aliases and the columns' names, with %s for each parameter; ORDER BY
    `order_by` (SQL too: the database's collation orders, as the ORM's order_by would)."""

    def __init__(
        self, model: type[Model], *, where: str, related: str | None = None, order_by: str = "", limit: int | None = None
    ):
        self.model, self.where, self.order_by, self.limit = model, where, order_by, limit
        self.related = model._meta.get_field(related) if related else None
        self._built: dict[str, tuple] = {}

    def __call__(self, params: list | tuple, *, using: str = "default") -> list[Model]:
        sql, parts = self._built.get(using) or self._build(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        found = []
        for row in rows:
            instances, start = [], 0
            for model, names, converters in parts:
                values = list(row[start : start + len(names)])
                start += len(names)
                for at, convert, col in converters:
                    for converter in convert:
                        values[at] = converter(values[at], col, connection)
                instances.append(model.from_db(using, names, values))
            if self.related is not None:
                setattr(instances[0], self.related.name, instances[1])
            found.append(instances[0])
        return found

    def _build(self, using: str) -> tuple:
        connection = connections[using]
        quote = connection.ops.quote_name
        models = [("t", self.model)]
        if self.related is not None:
            models.append(("r", self.related.related_model))
        columns, parts = [], []
        for alias, model in models:
            fields = model._meta.concrete_fields
            columns += [f"{alias}.{quote(field.column)}" for field in fields]
            converters = []
            for at, field in enumerate(fields):
                col = field.get_col(model._meta.db_table)
                convert = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if convert:
                    converters.append((at, convert, col))
            parts.append((model, [field.attname for field in fields], converters))
        sql = f"SELECT {', '.join(columns)} FROM {quote(self.model._meta.db_table)} t"
        if self.related is not None:
            target = self.related.target_field
            related_table = quote(self.related.related_model._meta.db_table)
            sql += f" INNER JOIN {related_table} r ON r.{quote(target.column)} = t.{quote(self.related.column)}"
        sql += f" WHERE {self.where}"
        if self.order_by:
            sql += f" ORDER BY {self.order_by}"
        if self.limit is not None:
            sql += f" LIMIT {int(self.limit)}"
        self._built[using] = (sql, parts)
        return sql, parts
