"""Fixtures every app's tests share: users of each role, a logged-in client, an API key."""

import json

import pytest
from django.test import Client

from leadflow.accounts.models import Role
from leadflow.accounts.services import create_api_key
from leadflow.accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    # PBKDF2 is slow on purpose; in tests that only costs time (it was most of the suite's).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=Role.ADMIN)


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", role=Role.MARKETING)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role=Role.SALES_MANAGER)


@pytest.fixture
def rep(db):
    return UserFactory(username="rep", role=Role.SALES_REP)


@pytest.fixture
def other_rep(db):
    return UserFactory(username="other_rep", role=Role.SALES_REP)


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client_(admin_user) -> Client:
    return _client_for(admin_user)


@pytest.fixture
def rep_client(rep) -> Client:
    return _client_for(rep)


@pytest.fixture
def manager_client(manager) -> Client:
    return _client_for(manager)


@pytest.fixture
def api_headers(admin_user) -> dict:
    _, secret = create_api_key(user=admin_user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def rep_api_headers(rep) -> dict:
    _, secret = create_api_key(user=rep, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def manager_api_headers(manager) -> dict:
    _, secret = create_api_key(user=manager, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def call(client):
    """`call(method, path, headers, body=None, **query)`: one JSON request to /api/v1."""

    def request(method: str, path: str, headers: dict, body=None, **params):
        kwargs = dict(headers)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        elif params:
            kwargs["data"] = params
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return request
