"""First-party tracking: what the script and the pixel send, read defensively and stored as
one row. Everything slower (joining to contacts, timelines) happens later, in bulk."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.utils import timezone
from limits import parse as parse_rate
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from leadflow.capture.attribution import UTM_KEYS
from leadflow.capture.models import TrackingEvent, TrackingKind

VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
EVENT_NAME = re.compile(r"^[\w .:/-]{1,100}$")
MAX_PROPERTIES = 20
# A browser's clock may be off; an event is never dated in the future nor a day back.
MAX_CLOCK_SKEW = timedelta(hours=24)


class BadEvent(ValueError):
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
        str(k)[:64]: v if isinstance(v, int | float | bool) else _text(str(v), 200)
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
        raise BadEvent("the event is too large")
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent("send one JSON object in UTF-8") from exc
    if not isinstance(payload, dict):
        raise BadEvent("send one JSON object")
    return payload


def store_event(fields: dict[str, Any], *, ip_address: str | None, user_agent: str) -> int:
    event = TrackingEvent.objects.create(
        **fields, ip_address=ip_address, user_agent=user_agent[:400]
    )
    return event.pk


# Per process: the hot path must not pay a database or network round trip to be throttled.
# With N web processes a visitor may reach N times the rate, which still stops a flood.
_limiter = MovingWindowRateLimiter(MemoryStorage())


def over_rate(ip_address: str | None) -> bool:
    rate = settings.TRACKING_RATE_PER_IP
    if not rate or not ip_address:
        return False
    return not _limiter.hit(parse_rate(rate), "tracking", ip_address)
