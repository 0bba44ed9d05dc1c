"""The WSGI entry point (`leadflow serve` runs it under granian).

POST /t/collect, the tracking beacon, is answered by a plain WSGI handler: the same checks
and the same row as the `capture.public.collect` view (tracking.accept_event), the same
answers (204, or 400/413/429 with a JSON reason) and the same headers, without building
Django's request and response objects or running the middleware stack. Every other request,
including the pixel (GET) and CORS preflights (OPTIONS) on that path, takes the full stack.

Why: a beacon arrives for every page view on every customer site, thousands a second, and
Django's request machinery cost more than the work itself (docs/benchmarks.md, issue 4).
What the beacon needs of it is small and done here: the Host check against ALLOWED_HOSTS,
the security and CORS headers (a test compares them with the full stack's), the database
connection housekeeping of request_started/request_finished, and a logged 500 on a bug.
"""

import json
import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
django_application = get_wsgi_application()

# Imported after Django is set up: they need the settings and the app registry.
from django.conf import settings  # noqa: E402
from django.core import signals  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402

from leadflow.capture import tracking  # noqa: E402

logger = logging.getLogger("django.request")

BEACON_PATH = "/t/collect"

# What SecurityMiddleware, XFrameOptionsMiddleware and capture.public._cors add to the
# beacon's answer through the full stack (test_beacon_shortcut compares the two).
BEACON_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Accept"),
    ("Access-Control-Max-Age", "86400"),
    ("X-Frame-Options", settings.X_FRAME_OPTIONS),
    *([("X-Content-Type-Options", "nosniff")] if settings.SECURE_CONTENT_TYPE_NOSNIFF else []),
    *(
        [("Referrer-Policy", settings.SECURE_REFERRER_POLICY)]
        if settings.SECURE_REFERRER_POLICY
        else []
    ),
    *(
        [("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)]
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY
        else []
    ),
]
REASONS = {
    204: "No Content",
    400: "Bad Request",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def _host_allowed(environ) -> bool:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _handle_beacon(environ) -> tuple[int, dict | None]:
    """(status, JSON body or None) for one beacon."""
    if not _host_allowed(environ):
        return 400, {"ok": False, "error": "unknown host"}
    ip = environ.get("REMOTE_ADDR") or None
    if tracking.over_rate(ip):
        return 429, {"ok": False, "error": "too many events"}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 400, {"ok": False, "error": "send one JSON object in UTF-8"}
    if length > settings.TRACKING_MAX_BODY_BYTES:
        return 413, {"ok": False, "error": "the event is too large"}
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        tracking.accept_event(
            tracking.parse_body(body),
            ip_address=ip,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
        )
    except tracking.EventTooLarge as exc:
        return 413, {"ok": False, "error": str(exc)}
    except tracking.BadEvent as exc:
        return 400, {"ok": False, "error": str(exc)}
    return 204, None


def _beacon(environ, start_response):
    # The signals Django's handler sends: they recycle broken or old database connections.
    signals.request_started.send(sender=django_application.__class__, environ=environ)
    try:
        try:
            status, answer = _handle_beacon(environ)
        except Exception:
            logger.exception("Internal Server Error: %s", BEACON_PATH)
            status, answer = 500, {"ok": False, "error": "server error"}
        if status >= 400 and status != 500:
            logger.warning("%s: %s", REASONS[status], BEACON_PATH)
        body = json.dumps(answer).encode() if answer is not None else b""
        headers = [
            *([("Content-Type", "application/json")] if answer is not None else []),
            ("Content-Length", str(len(body))),
            *BEACON_HEADERS,
        ]
        start_response(f"{status} {REASONS[status]}", headers)
        return [body]
    finally:
        signals.request_finished.send(sender=django_application.__class__)


def application(environ, start_response):
    if environ.get("PATH_INFO") == BEACON_PATH and environ.get("REQUEST_METHOD") == "POST":
        return _beacon(environ, start_response)
    return django_application(environ, start_response)
