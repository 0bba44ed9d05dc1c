"""No input makes the API fail with a 5xx: Schemathesis fuzzes every operation of the schema.

Requests run in-process through the WSGI application, so they share the test's database
connection and transaction: the rows the fixture makes are what the API sees, and nothing
outlives the test.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from leadflow.accounts.models import Role
from leadflow.accounts.services import create_api_key
from leadflow.accounts.tests.factories import UserFactory
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    CampaignFactory,
    CompanyFactory,
    ContactFactory,
)
from leadflow.sales.tests.factories import DealFactory

# Bounded so the suite stays quick: examples and fuzzing, 25 cases per operation. Set
# LEADFLOW_FUZZ_COVERAGE=1 to add Schemathesis' coverage phase (every boundary and negative
# value of every parameter, about 1,500 more cases) before a release or after a schema change.
THOROUGH = os.environ.get("LEADFLOW_FUZZ_COVERAGE", "") not in ("", "0")
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    # Django's own handler: the API takes no short cut that leadflow.wsgi adds for beacons.
    get_wsgi_application(),
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": THOROUGH}}}),
)

# Path parameters a generated case may carry, and the fixture's row each one is pointed at
# for a second call, so the fuzzed bodies and queries also reach rows that exist.
ID_PARAMETERS = ("contact_id", "company_id", "deal_id")


@pytest.fixture
def in_process_requests():
    """Keep the test's connection open across in-process requests.

    Django closes a connection at the end of a request when it is not in autocommit mode,
    which the test's transaction never is; on PostgreSQL that would end the transaction (and
    the rows in it) after the first call. Django's own test client unhooks the same receiver.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, in_process_requests) -> dict:
    """An admin and a rep with API keys, and a few rows of everything for them to work on."""
    # No password: hashing one costs more than the rest of the fixture, and keys need none.
    admin = UserFactory(username="fuzz-admin", role=Role.ADMIN, password=None)
    rep = UserFactory(username="fuzz-rep", role=Role.SALES_REP, password=None)
    company = CompanyFactory()
    campaign = CampaignFactory()
    contact = ContactFactory(
        company=company,
        owner=rep,
        first_touch_channel=campaign.channel,
        first_touch_campaign=campaign,
    )
    ContactFactory.create_batch(3)
    ActivityFactory(contact=contact)
    deal = DealFactory(contact=contact, company=company, owner=rep)
    return {
        "headers": [
            {"Authorization": f"Bearer {create_api_key(user=user, name='fuzz')[1]}"}
            for user in (admin, rep)
        ],
        "ids": {"contact_id": contact.pk, "company_id": company.pk, "deal_id": deal.pk},
    }


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the working tree
    # The fixture's rows are meant to be shared by every example of an operation.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_request_gets_a_server_error(case, world):
    admin, rep = world["headers"]
    response = case.call(headers=admin)
    case.validate_response(response, checks=[not_a_server_error])
    if not set(case.path_parameters or {}) & set(ID_PARAMETERS):
        # Lists and creates: the rep's view filters differently, so ask as the rep too.
        response = case.call(headers=rep)
    elif case.method.upper() != "DELETE":
        # The generated ids rarely exist: once more on the fixture's rows, which the rep owns,
        # so fuzzed bodies and queries reach real rows. Deletes would leave nothing to fuzz.
        case.path_parameters = {
            name: world["ids"].get(name, value) for name, value in case.path_parameters.items()
        }
        response = case.call(headers=rep)
    case.validate_response(response, checks=[not_a_server_error])
