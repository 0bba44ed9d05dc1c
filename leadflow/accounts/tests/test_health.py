"""/healthz: what load balancers and probes ask, without signing in."""

import pytest
from django.db import OperationalError, connection
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok_without_a_login():
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_does_not(monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("could not connect to server at db.internal:5432 as leadflow")

    # What Django raises when the server is down: the first cursor cannot be had.
    monkeypatch.setattr(connection, "cursor", unreachable)

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "error"
    # The driver's message names hosts and users; an anonymous caller does not see it.
    assert "db.internal" not in response.content.decode()
