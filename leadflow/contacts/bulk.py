"""Writing many rows of any model at once, faster than the ORM's bulk methods.

`update_rows` gives each row its own values in one `UPDATE ... FROM (VALUES ...)` per batch;
`insert_rows` is `bulk_create` by COPY on PostgreSQL. Both exist because, for the merges of
a dedupe run (contacts.merge), Django spent more time building the statements in Python (a
CASE per row and column for `bulk_update`; arrays of JSON text, escaped value by value, for
`bulk_create`'s UNNEST) than the database spent running them. Neither sends signals or calls
`save()`, like the bulk methods they replace.
"""

from typing import Any

from django.db import connections, models, router

UPDATE_BATCH = 5_000  # rows per UPDATE ... FROM (VALUES ...) at most
# The sequence is named once, then drawn from by its regclass: naming it in every row's
# nextval() (pg_get_serial_sequence per row) took 0.4 s per 100,000 ids, this 0.06 s.
SEQUENCE_SQL = "SELECT pg_get_serial_sequence(%s, %s)"
NEXT_IDS_SQL = "SELECT nextval(%s::regclass) FROM generate_series(1, %s)"


def next_ids(cursor, table: str, column: str, count: int) -> list[int]:
    """`count` new primary keys from the sequence of table.column (PostgreSQL), ascending."""
    cursor.execute(SEQUENCE_SQL, [table, column])
    (sequence,) = cursor.fetchone()
    cursor.execute(NEXT_IDS_SQL, [sequence, count])
    return [pk for (pk,) in cursor.fetchall()]


def update_rows(model, columns: list[models.Field], rows: list[tuple]) -> None:
    """Give many rows each their own values: rows are (primary key, value of each column).

    One `UPDATE ... FROM (VALUES ...)` per batch (PostgreSQL, and SQLite from 3.33): Django's
    `bulk_update` builds a CASE per row and column in Python, which cost more than the
    statements themselves. VALUES names its columns column1, column2... on both databases.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        for pk, *values in rows:
            changes = {f.attname: v for f, v in zip(columns, values, strict=True)}
            model._base_manager.filter(pk=pk).update(**changes)
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    postgres = connection.vendor == "postgresql"

    def value(i: int, field: models.Field) -> str:
        # PostgreSQL types a VALUES column from its literals (text, integer, null): cast it.
        ref = f"v.column{i + 2}"
        return f"CAST({ref} AS {field.db_type(connection)})" if postgres else ref

    assignments = ", ".join(f"{quote(f.column)} = {value(i, f)}" for i, f in enumerate(columns))
    width = len(columns) + 1
    limit = min(connection.features.max_query_params or 65_535, 65_535)
    per_statement = max(1, min(limit // width, UPDATE_BATCH))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params: list[Any] = []
            for pk, *values in batch:
                params.append(pk)
                params.extend(
                    f.get_db_prep_save(v, connection) for f, v in zip(columns, values, strict=True)
                )
            tuples = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(batch))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {tuples}) AS v "  # noqa: S608
                f"WHERE {table}.{quote(model._meta.pk.column)} = v.column1",
                params,
            )


def insert_rows(model, objs: list[models.Model]) -> list[models.Model]:
    """`model.objects.bulk_create(objs)`, with the same result: every object saved with its
    primary key set. On PostgreSQL the keys are drawn from the table's sequence first and the
    rows go in with one COPY, each value adapted by its field as `save()` would; elsewhere it
    is `bulk_create`.
    """
    if not objs:
        return objs
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs)
    meta = model._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        ids = next_ids(cursor, meta.db_table, meta.pk.column, len(objs))
        for obj, pk in zip(objs, ids, strict=True):
            obj.pk = pk
        with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
    return objs
