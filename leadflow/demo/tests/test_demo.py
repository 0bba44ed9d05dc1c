"""`leadflow demo`: a realistic, consistent, reproducible workspace that loads once."""

import json
from datetime import UTC, date, datetime
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from leadflow.accounts.models import Role, User, Workspace
from leadflow.contacts.models import (
    Activity,
    Campaign,
    Channel,
    ChannelKind,
    Company,
    Contact,
    Spend,
    StageChange,
    Vendor,
)
from leadflow.contacts.tests.factories import ContactFactory
from leadflow.demo.generate import load_demo_workspace
from leadflow.sales.models import Deal

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 2)
MIDNIGHT = datetime(2025, 6, 2, tzinfo=UTC)


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_the_command_loads_a_workspace_and_prints_the_login():
    output = demo("--contacts", "200")

    assert "Demo login: demo / demo" in output
    assert Contact.objects.count() == 200
    assert Company.objects.count() == 20
    assert Workspace.objects.get(pk=1).name == "Lumen Analytics (demo)"
    assert set(Channel.objects.values_list("kind", flat=True)) == set(ChannelKind.values) - {
        ChannelKind.OTHER
    }
    assert Campaign.objects.count() >= 15
    assert Vendor.objects.count() == 3
    assert Spend.objects.filter(vendor__isnull=False).exists()
    assert 3 * 200 <= Activity.objects.count() <= 10 * 200
    assert Deal.objects.exists()


def test_the_demo_users_can_sign_in_with_their_roles():
    demo("--contacts", "50")

    admin = authenticate(username="demo", password="demo")
    assert admin is not None and admin.is_superuser and admin.is_staff
    assert admin.role == Role.ADMIN
    roles = dict(User.objects.values_list("username", "role"))
    assert roles == {
        "demo": Role.ADMIN,
        "marketer": Role.MARKETING,
        "manager": Role.SALES_MANAGER,
        "rep1": Role.SALES_REP,
        "rep2": Role.SALES_REP,
    }
    for username in roles:
        assert authenticate(username=username, password="demo") is not None


def test_json_format_prints_one_document():
    document = json.loads(demo("--contacts", "60", "--seed", "5", "--format", "json"))

    assert document["loaded"] is True
    assert document["seed"] == 5
    assert document["counts"]["contacts"] == 60
    assert sum(document["contacts_by_stage"].values()) == 60
    assert document["login"] == {"username": "demo", "password": "demo"}


def test_a_second_run_adds_nothing_and_repairs_the_demo_users():
    demo("--contacts", "80")
    first = json.loads(demo("--format", "json"))["counts"]
    rep = User.objects.get(username="rep1")
    rep.set_password("changed")
    rep.save()

    output = demo("--contacts", "80")
    again = json.loads(demo("--format", "json"))

    assert "Demo workspace already loaded" in output
    assert again["loaded"] is False and again["already_loaded"] is True
    assert again["counts"] == first
    assert authenticate(username="rep1", password="demo") is not None


def test_a_database_with_other_contacts_is_left_alone():
    ContactFactory(email="real.customer@example.com")

    with pytest.raises(CommandError, match="already holds"):
        demo("--contacts", "20")

    assert Contact.objects.count() == 1
    assert not User.objects.filter(username="demo").exists()


def snapshot() -> dict:
    """The workspace without its ids, which differ from one load to the next."""
    return {
        "contacts": list(
            Contact.objects.order_by("external_id").values_list(
                "external_id", "email", "first_name", "last_name", "phone", "job_title",
                "country", "company__domain", "owner__username", "lifecycle_stage", "score",
                "consent", "consent_at", "created_at", "first_touch_channel__name",
                "first_touch_campaign__name", "last_touch_channel__name",
                "last_touch_campaign__name", "source_vendor__name",
            )
        ),
        "companies": list(
            Company.objects.order_by("domain").values_list(
                "domain", "name", "industry", "size", "country", "created_at"
            )
        ),
        "deals": sorted(
            Deal.objects.values_list(
                "contact__external_id", "name", "amount", "stage", "created_at", "won_at",
                "lost_at", "lost_reason", "expected_close_on",
            )
        ),
        "history": sorted(
            StageChange.objects.values_list(
                "contact__external_id", "changed_at", "from_stage", "to_stage", "source"
            )
        ),
        "timeline": sorted(
            Activity.objects.values_list("contact__external_id", "occurred_at", "kind")
        ),
        "spend": sorted(
            Spend.objects.values_list("spent_on", "amount", "campaign__name", "vendor__name")
        ),
        "campaigns": sorted(
            Campaign.objects.values_list("name", "channel__name", "starts_on", "ends_on", "budget")
        ),
    }  # fmt: skip


def forget_demo_data() -> None:
    # Every table emptied, whatever other apps hang off contacts by now.
    call_command("flush", interactive=False, verbosity=0)


# Real transactions: PostgreSQL will not TRUNCATE (flush) tables with deferred checks pending.
@pytest.mark.django_db(transaction=True)
def test_the_same_seed_gives_the_same_workspace():
    load_demo_workspace(seed=11, contacts=150, today=TODAY)
    first = snapshot()
    forget_demo_data()

    load_demo_workspace(seed=11, contacts=150, today=TODAY)

    assert snapshot() == first
    forget_demo_data()
    load_demo_workspace(seed=12, contacts=150, today=TODAY)
    assert snapshot()["contacts"] != first["contacts"]
