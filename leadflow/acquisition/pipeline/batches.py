"""Long lists cut into slices, for `IN (...)` look-ups and batched writes."""

from collections.abc import Iterator

LOOKUP_CHUNK = 900  # under SQLite's limit of bound parameters per statement


def chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
