"""Email flags for a whole frame: role addresses (info@, sales@) and disposable domains.

The same rules as `contacts.normalise.email_flags`, as column expressions: the local part
loses its "+tag" and its dots, dashes and underscores and is looked up in ROLE_LOCAL_PARTS;
the domain and its parent domains are looked up in the disposable blocklist. Flagged rows
are loaded like any other; the report counts them as warnings.
"""

import polars as pl

from leadflow.contacts.normalise import ROLE_LOCAL_PARTS, disposable_domains

EMAIL_IS_ROLE = "email_is_role"
EMAIL_IS_DISPOSABLE = "email_is_disposable"
ROLE_WARNING = "role address"
DISPOSABLE_WARNING = "disposable address"
PARENT_LEVELS = 3  # "a.b.c.mailinator.com" is checked down to "mailinator.com" at most


def _domain_and_parents(domain: pl.Expr) -> list[pl.Expr]:
    parents = [domain]
    for level in range(1, PARENT_LEVELS + 1):
        # Drop `level` leading labels; keep only results that still have a dot.
        parent = domain.str.replace(rf"^([^.]+\.){{{level}}}", "")
        parents.append(pl.when(parent.str.contains(r"\.")).then(parent))
    return parents


def flag_emails(frame: pl.DataFrame, column: str = "email") -> pl.DataFrame:
    """Adds EMAIL_IS_ROLE and EMAIL_IS_DISPOSABLE (False where there is no email).

    Domains repeat a lot, so the blocklist is searched once per distinct domain.
    """
    parts = pl.col(column).str.to_lowercase().str.splitn("@", 2)
    local, domain = parts.struct.field("field_0"), parts.struct.field("field_1")
    role_key = local.str.replace(r"\+.*$", "").str.replace_all(r"[._-]", "")
    roles = pl.Series(sorted(ROLE_LOCAL_PARTS), dtype=pl.String).implode()
    blocked = pl.Series(sorted(disposable_domains()), dtype=pl.String).implode()
    keyed = frame.with_columns(
        role_key.is_in(roles).fill_null(False).alias(EMAIL_IS_ROLE),
        domain.alias("_domain"),
    )
    domains = keyed.select(pl.col("_domain").drop_nulls().unique())
    domains = domains.with_columns(
        pl.any_horizontal(d.is_in(blocked) for d in _domain_and_parents(pl.col("_domain")))
        .fill_null(False)
        .alias(EMAIL_IS_DISPOSABLE)
    )
    flagged = keyed.join(domains, on="_domain", how="left", maintain_order="left")
    return flagged.with_columns(pl.col(EMAIL_IS_DISPOSABLE).fill_null(False)).drop("_domain")


def flag_warnings(frame: pl.DataFrame) -> dict[str, int]:
    """The report's warning counts for a flagged frame (only the flags that occur)."""
    counts = {
        ROLE_WARNING: int(frame[EMAIL_IS_ROLE].sum()),
        DISPOSABLE_WARNING: int(frame[EMAIL_IS_DISPOSABLE].sum()),
    }
    return {k: v for k, v in counts.items() if v}
