"""POST /t/collect is answered by a plain WSGI handler (leadflow/wsgi.py); it must answer
and store exactly as the full Django stack does."""

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client, override_settings

from leadflow.capture import tracking
from leadflow.capture.models import TrackingEvent
from leadflow.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def call(method: str, body: bytes = b"", host: str = "localhost", path: str = "/t/collect"):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": host,
        "SERVER_NAME": host,
        "CONTENT_TYPE": "text/plain",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.input": io.BytesIO(body),
    }
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(headers)

    response = application(environ, start_response)
    content = b"".join(response)
    if hasattr(response, "close"):  # the WSGI contract: close what has a close()
        response.close()
    return answer["status"], answer["headers"], content


@pytest.fixture(autouse=True)
def _fresh_limits():
    tracking._limiter.storage.reset()


def test_a_beacon_is_stored_and_answered_with_cors():
    body = json.dumps({"vid": "abcdefgh12345", "url": "https://acme.example/?utm_medium=cpc"})
    status, headers, _ = call("POST", body.encode())
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    event = TrackingEvent.objects.get()
    assert event.utm == {"utm_medium": "cpc"}
    assert event.ip_address == "203.0.113.9"


def test_a_bad_beacon_gets_the_same_400_as_through_the_full_stack():
    status, _, content = call("POST", b"not json")
    assert status == 400
    assert "error" in json.loads(content)
    assert not TrackingEvent.objects.exists()


def test_a_forged_host_is_refused_on_the_short_road_too():
    status, _, _ = call("POST", b"{}", host="evil.example")
    assert status == 400


def test_other_requests_take_the_full_stack():
    status, _, _ = call("GET", path="/contacts/")
    assert status == 302  # the login requirement still applies


BEACON = json.dumps({"vid": "abcdefgh12345", "url": "https://acme.example/"}).encode()


@pytest.mark.parametrize("body", [BEACON, b"not json"])
def test_the_short_road_answers_with_the_full_stacks_headers(body):
    status, headers, content = call("POST", body)
    full = Client(HTTP_HOST="localhost").post("/t/collect", body, content_type="text/plain")
    assert status == full.status_code
    wanted = {k: v for k, v in full.headers.items() if k != "Content-Type" or full.content}
    assert {k: v for k, v in headers.items() if k in wanted} == wanted
    assert json.loads(content or b"null") == (json.loads(full.content) if full.content else None)


def test_an_oversized_beacon_is_413():
    status, _, content = call("POST", b"{" + b" " * 20_000 + b"}")
    assert status == 413
    assert json.loads(content)["error"] == "the event is too large"


@override_settings(TRACKING_RATE_PER_IP="2/minute")
def test_a_flood_is_cut_off_on_the_short_road_too():
    statuses = [call("POST", BEACON)[0] for _ in range(3)]
    assert statuses == [204, 204, 429]
