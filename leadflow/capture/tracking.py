"""First-party tracking: what the script and the pixel send, read defensively and stored as
one row. Everything slower (joining to contacts, timelines) happens later, in bulk."""

import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import psycopg
from django.conf import settings
from django.db import connection
from django.utils import timezone
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from leadflow.capture.attribution import UTM_KEYS
from leadflow.capture.models import TrackingEvent, TrackingKind
from leadflow.contacts.normalise import storable_json

VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
EVENT_NAME = re.compile(r"^[\w .:/-]{1,100}$")
MAX_PROPERTIES = 20
# A browser's clock may be off; an event is never dated in the future nor a day back.
MAX_CLOCK_SKEW = timedelta(hours=24)


class BadEvent(ValueError):
    pass


class EventTooLarge(BadEvent):
    pass


def _text(value: Any, limit: int) -> str:
    if not isinstance(value, str):
        return ""
    return value.replace("\x00", "").strip()[:limit]


def _utm_from(url: str) -> dict[str, str]:
    try:
        query = dict(parse_qsl(urlsplit(url).query))
    except ValueError:
        return {}
    return {k: query[k][:200] for k in UTM_KEYS if query.get(k)}


def _occurred_at(raw: Any) -> datetime:
    now = timezone.now()
    if isinstance(raw, int | float) and raw > 0:
        try:
            when = datetime.fromtimestamp(raw / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return now
        if now - MAX_CLOCK_SKEW < when <= now:
            return when
    return now


def read_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields of a TrackingEvent from what a browser sent, or BadEvent with the reason."""
    visitor_id = payload.get("vid")
    if not isinstance(visitor_id, str) or not VISITOR_ID.match(visitor_id):
        raise BadEvent("vid: a visitor id of 8-64 letters, digits, - or _ is required")
    kind = payload.get("type", TrackingKind.PAGE_VIEW)
    if kind not in TrackingKind.values:
        raise BadEvent("type: use page_view or event")
    url = _text(payload.get("url"), 2000)
    if not url.startswith(("http://", "https://")):
        raise BadEvent("url: the page's absolute http(s) address is required")
    name = _text(payload.get("name"), 100)
    if kind == TrackingKind.EVENT and not EVENT_NAME.match(name):
        raise BadEvent("name: a custom event needs a name (letters, digits, space . : / - _)")
    props = payload.get("props") or {}
    if not isinstance(props, dict):
        raise BadEvent("props: send an object")
    properties = {
        str(k)[:64]: v if v is None or isinstance(v, int | float | bool) else _text(str(v), 200)
        for k, v in list(props.items())[:MAX_PROPERTIES]
    }
    return {
        "visitor_id": visitor_id,
        "kind": kind,
        "name": name,
        "url": url,
        "title": _text(payload.get("title"), 300),
        "referrer": _text(payload.get("ref"), 2000),
        "utm": _utm_from(url),
        "properties": properties,
        "occurred_at": _occurred_at(payload.get("ts")),
    }


def parse_body(body: bytes) -> dict[str, Any]:
    """sendBeacon posts text/plain (no CORS preflight), so the body is read as JSON whatever
    its declared type."""
    if len(body) > settings.TRACKING_MAX_BODY_BYTES:
        raise EventTooLarge("the event is too large")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent("send one JSON object in UTF-8") from exc
    if not isinstance(payload, dict):
        raise BadEvent("send one JSON object")
    return storable_json(payload)


# The columns store_event writes; the others (contact, attached_at) start NULL, as they do
# through the ORM.
INSERT_FIELDS = (
    "visitor_id",
    "kind",
    "name",
    "url",
    "title",
    "referrer",
    "utm",
    "properties",
    "ip_address",
    "user_agent",
    "occurred_at",
)


def _insert_sql(*, synchronous_commit: bool) -> str:
    """The INSERT, built from the model so that a renamed column cannot drift from it."""
    meta = TrackingEvent._meta
    columns = ", ".join(meta.get_field(name).column for name in INSERT_FIELDS)
    values = ", ".join(["%s"] * len(INSERT_FIELDS))
    if synchronous_commit:
        return f"INSERT INTO {meta.db_table} ({columns}) VALUES ({values}) RETURNING id"  # noqa: S608
    # set_config(name, value, true) is SET LOCAL, and a statement outside a transaction is its
    # own transaction: the relaxed commit applies to this event's row and ends with it.
    return (
        f"INSERT INTO {meta.db_table} ({columns}) SELECT {values} "  # noqa: S608
        "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed RETURNING id"
    )


INSERT_SQL = _insert_sql(synchronous_commit=True)
RELAXED_INSERT_SQL = _insert_sql(synchronous_commit=False)
# How long a connection that just stored an event is trusted without a health check.
HEALTHY_FOR_SECONDS = 1.0
# Connections are per thread, and so is the time this thread's connection last answered.
_recent = threading.local()


def store_event(fields: dict[str, Any], *, ip_address: str | None, user_agent: str) -> int:
    """Write one event and return its id once it is committed (or inside the caller's
    transaction, when there is one).

    On PostgreSQL this is the hot path (docs/benchmarks.md, issue 4): one INSERT on the
    request's connection, without the ORM's model instance, signals and SQL compiler, and
    without waiting for the disk unless TRACKING_SYNCHRONOUS_COMMIT is set (see below). It
    writes the row TrackingEvent.objects.create() would.
    """
    user_agent = user_agent[:400]
    if connection.vendor != "postgresql":
        return TrackingEvent.objects.create(
            **fields, ip_address=ip_address, user_agent=user_agent
        ).pk
    params = (
        fields["visitor_id"],
        fields["kind"],
        fields["name"],
        fields["url"],
        fields["title"],
        fields["referrer"],
        json.dumps(fields["utm"]),
        json.dumps(fields["properties"]),
        ip_address,
        user_agent,
        fields["occurred_at"],
    )
    # Waiting for the WAL to reach the disk on each commit capped ingestion at a few hundred
    # events a second (docs/benchmarks.md). A page view is answered once PostgreSQL has
    # committed it in memory; the WAL writer flushes it within wal_writer_delay (200 ms)
    # or so. The trade: if PostgreSQL or the machine crashes, the page views of the last
    # fraction of a second (at most 3 x wal_writer_delay) may be missing afterwards, never
    # half-written, and nothing else is affected. A crash of Leadflow itself loses nothing.
    # Set LEADFLOW_TRACKING_SYNCHRONOUS_COMMIT=1 to wait for the disk anyway. Inside a
    # caller's transaction the caller's commit decides, so the plain INSERT is used there.
    synchronous = (
        getattr(settings, "TRACKING_SYNCHRONOUS_COMMIT", False) or connection.in_atomic_block
    )
    # Django's health check (CONN_HEALTH_CHECKS) pings the database before the first query
    # of every request, for a beacon a second round trip as dear as the INSERT. A connection
    # that stored an event a moment ago is known to work, so only one that sat idle (where a
    # database restart or a firewall may have cut it unseen) is checked first.
    now = time.monotonic()
    if now - getattr(_recent, "used_at", 0.0) > HEALTHY_FOR_SECONDS:
        connection.close_if_health_check_failed()
    connection.ensure_connection()
    # A plain psycopg cursor on Django's connection: Django's own is a ClientCursor, which
    # quotes every parameter into the SQL text in Python; this one sends them apart and
    # runs a statement prepared once per connection, which is cheaper on both sides. (Behind
    # pgbouncer in transaction mode, use its prepared-statement support, 1.21 or newer.)
    # wrap_database_errors keeps Django's error types and marks the connection as failed,
    # so Django replaces it after an error.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(INSERT_SQL if synchronous else RELAXED_INSERT_SQL, params, prepare=True)
        event_id = cursor.fetchone()[0]
    _recent.used_at = now
    return event_id


# Per process: the hot path must not pay a database or network round trip to be throttled.
# With N web processes a visitor may reach N times the rate, which still stops a flood.
_limiter = MovingWindowRateLimiter(MemoryStorage())


def over_rate(ip_address: str | None) -> bool:
    rate = settings.TRACKING_RATE_PER_IP
    if not rate or not ip_address:
        return False
    return not _limiter.hit(parse_rate(rate), "tracking", ip_address)


def accept_event(payload: dict[str, Any], *, ip_address: str | None, user_agent: str) -> int:
    """Read and store one event from a beacon, the pixel or the API; BadEvent if unusable."""
    return store_event(read_event(payload), ip_address=ip_address, user_agent=user_agent)
