"""Whole-database deduplication: block, compare, score, propose (issue 5).

The stages, frame in and frame out, one module each:

- `fields`: which fields to match on and how each is compared (`email`, `name`, `attr.postcode`).
- `frame`: the contacts as a Polars frame (the only stage that reads the database).
- `blocking`: candidate pairs from exact keys (email, phone digits, name sounds, codes).
- `compare`: one agreement level per field per pair (rapidfuzz Jaro-Winkler, edit distance).
- `score`: a Fellegi-Sunter model whose m and u are fitted by EM on the pairs; a probability each.

`find_duplicates` runs them on any frame, so the FEBRL benchmark needs no database. Its result
is a list of proposals ("merge" above the threshold, "review" between the thresholds); `queue`
acts on them: merges the sure ones (contacts.merge) and queues the rest for review.
"""

from leadflow.acquisition.dedupe.engine import DedupeResult, find_duplicates
from leadflow.acquisition.dedupe.fields import Field, parse_fields

__all__ = ["DedupeResult", "Field", "find_duplicates", "parse_fields"]
