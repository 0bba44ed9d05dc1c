"""The WSGI entry point (`leadflow serve` runs it under granian).

POST /t/collect, the tracking beacon, takes a short road through Django: the same view
(capture.public.collect, so the same validation, answers and row), behind only the
middleware that shapes its answer. Every other request takes the full stack.

Why: a beacon arrives for every page view on every customer site, thousands a second, and the
full stack cost more than the view itself (docs/benchmarks.md, issue 4). What the beacon
skips does nothing for it: it carries no session or user (sessions, auth, messages, the
login requirement and CSRF, from which the view is exempt, only read or set cookies it never
sends), and whitenoise serves only /static/. What it keeps: host validation and
Content-Length (CommonMiddleware), the security headers (SecurityMiddleware,
XFrameOptionsMiddleware), Django's 500 answer and logging for an exception, and the
request_started/request_finished signals that manage database connections.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
django_application = get_wsgi_application()

# Imported after Django is set up: they need the settings and the app registry.
from django.conf import settings  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.core.handlers.wsgi import WSGIRequest, get_script_name  # noqa: E402
from django.middleware.clickjacking import XFrameOptionsMiddleware  # noqa: E402
from django.middleware.common import CommonMiddleware  # noqa: E402
from django.middleware.security import SecurityMiddleware  # noqa: E402
from django.urls import set_script_prefix, set_urlconf  # noqa: E402
from django.utils.log import log_response  # noqa: E402

from leadflow.capture.public import collect  # noqa: E402

BEACON_PATH = "/t/collect"

# Outermost first, in settings.MIDDLEWARE's order; each layer converts its exceptions to
# responses the way Django's handler does.
_beacon_chain = convert_exception_to_response(
    SecurityMiddleware(
        convert_exception_to_response(
            CommonMiddleware(
                convert_exception_to_response(
                    XFrameOptionsMiddleware(convert_exception_to_response(collect))
                )
            )
        )
    )
)


def _beacon(environ, start_response):
    """WSGIHandler.__call__ and BaseHandler.get_response, around the short chain."""
    set_script_prefix(get_script_name(environ))
    signals.request_started.send(sender=django_application.__class__, environ=environ)
    request = WSGIRequest(environ)
    set_urlconf(settings.ROOT_URLCONF)
    response = _beacon_chain(request)
    response._resource_closers.append(request.close)
    if response.status_code >= 400:
        log_response(
            "%s: %s", response.reason_phrase, request.path, response=response, request=request
        )
    response._handler_class = django_application.__class__
    # The WSGI server calls response.close(), which sends request_finished.
    start_response(
        f"{response.status_code} {response.reason_phrase}",
        [
            *response.items(),
            *(("Set-Cookie", c.output(header="")) for c in response.cookies.values()),
        ],
    )
    return response


def application(environ, start_response):
    if environ.get("PATH_INFO") == BEACON_PATH and environ.get("REQUEST_METHOD") == "POST":
        return _beacon(environ, start_response)
    return django_application(environ, start_response)
