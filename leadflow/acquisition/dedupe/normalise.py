"""Each field's columns in the form they are compared in: column expressions, no row loops."""

import polars as pl

from leadflow.acquisition.dedupe.fields import Field

PHONE_DIGITS = 9  # the last 9 digits: "+44 20 7946 0000" and "020 7946 0000" agree


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.str.len_chars() > 0).then(expr).otherwise(None)


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Lower-cased, accents and punctuation dropped, whitespace collapsed; "" -> null."""
    expr = (
        expr.cast(pl.String)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )
    return _blank_to_null(expr)


def clean_column(kind: str, expr: pl.Expr) -> pl.Expr:
    if kind == "email":
        return _blank_to_null(expr.cast(pl.String).str.strip_chars().str.to_lowercase())
    if kind == "phone":
        digits = expr.cast(pl.String).str.replace_all(r"\D", "")
        return pl.when(digits.str.len_chars() >= 6).then(digits.str.tail(PHONE_DIGITS))
    if kind == "code":
        return _blank_to_null(clean_text(expr).str.replace_all(" ", ""))
    return clean_text(expr)


def column_name(field: Field, i: int = 0) -> str:
    """The prepared column for a field's i-th source column."""
    return f"{field.name}#{i}"


def prepare(frame: pl.DataFrame, fields: list[Field]) -> pl.DataFrame:
    """One prepared column per field column, plus `rid`, the row's position (0..n-1)."""
    exprs = [pl.int_range(pl.len(), dtype=pl.Int64).alias("rid")]
    for field in fields:
        kind = "text" if field.kind == "name" else field.kind
        for i, column in enumerate(field.columns):
            exprs.append(clean_column(kind, pl.col(column)).alias(column_name(field, i)))
    return frame.select(exprs)
