"""The contacts as a Polars frame: `id`, `external_id` and one column per field's columns.

The only stage that reads the database. Rows come in chunks of plain tuples from one query
(no model instances); custom attributes are read in SQL with `KT("attributes__NAME")`.
"""

import polars as pl
from django.db.models.fields.json import KT

from leadflow.acquisition.dedupe.fields import Field, UnknownField
from leadflow.contacts.models import Contact

ID = "id"
EXTERNAL_ID = "external_id"
CHUNK_ROWS = 50_000

# Frame column -> the model path it is read from (attributes are added per field).
MODEL_PATHS = {
    "email": "email",
    "phone": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "company": "company__name",
    "job_title": "job_title",
    "country": "country",
}


def load_contacts(fields: list[Field], *, chunk_rows: int = CHUNK_ROWS) -> pl.DataFrame:
    columns = list(dict.fromkeys(c for f in fields for c in f.columns))
    annotations = {}
    paths = [ID, EXTERNAL_ID]
    for i, column in enumerate(columns):
        if column.startswith("attr."):
            alias = f"dedupe_attr_{i}"
            annotations[alias] = KT(f"attributes__{column.removeprefix('attr.')}")
            paths.append(alias)
        else:
            paths.append(MODEL_PATHS[column])
    rows = Contact.objects.annotate(**annotations).order_by().values_list(*paths)
    schema = {ID: pl.Int64, EXTERNAL_ID: pl.String} | dict.fromkeys(columns, pl.String)
    chunks = []
    batch: list[tuple] = []
    for row in rows.iterator(chunk_size=chunk_rows):
        batch.append(row)
        if len(batch) >= chunk_rows:
            chunks.append(pl.DataFrame(batch, schema=schema, orient="row", strict=False))
            batch = []
    chunks.append(pl.DataFrame(batch, schema=schema, orient="row", strict=False))
    # In id order, whatever order the database gave them: a pair's left is its older
    # contact on SQLite and PostgreSQL alike (the rows are numbered in this order).
    frame = pl.concat(chunks).sort(ID)
    # A misspelt attribute compares as unknown on every pair: the run would match on the
    # other fields alone, and merge more than the person asked for.
    for column in columns:
        if (
            column.startswith("attr.")
            and frame.height
            and frame[column].null_count() == frame.height
        ):
            raise UnknownField(f"{column}: no contact has this attribute (check its spelling)")
    return frame
