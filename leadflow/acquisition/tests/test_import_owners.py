"""An imported owner column names a user by email, login or full name; a full name two
users share names neither, and the report says so rather than "not found"."""

import pytest

from leadflow.accounts.tests.factories import UserFactory
from leadflow.acquisition.pipeline.funnel import (
    OWNER_AMBIGUOUS_WARNING,
    OWNER_WARNING,
    owner_directory,
)
from leadflow.contacts.models import Contact

pytestmark = pytest.mark.django_db


def _owners() -> dict[str, int | None]:
    return dict(Contact.objects.values_list("email", "owner_id"))


def test_a_full_name_two_users_share_is_warned_about_apart_from_an_unknown_owner(
    write_list, run_import
):
    sam_a = UserFactory(username="sam.a", first_name="Sam", last_name="Lee")
    sam_b = UserFactory(username="sam.b", first_name="Sam", last_name="Lee")
    text = (
        "Email,Contact Owner\n"
        "a@x.org,Sam Lee\n"
        "b@x.org,  sam   LEE \n"
        "c@x.org,SAM.A@example.com\n"
        "d@x.org,sam.b\n"
        "e@x.org,Nobody Here\n"
    )
    report = run_import(write_list(text))

    assert report["created"] == 5
    assert report["rejected"] == 0
    # Each Sam is still found by email or login; the shared name gives no owner.
    assert _owners() == {
        "a@x.org": None, "b@x.org": None, "c@x.org": sam_a.pk, "d@x.org": sam_b.pk,
        "e@x.org": None,
    }  # fmt: skip
    assert report["warnings"][OWNER_AMBIGUOUS_WARNING] == 2
    assert report["warnings"][OWNER_WARNING] == 1
    attributes = dict(Contact.objects.values_list("email", "attributes"))
    assert attributes["a@x.org"] == {"owner_as_entered": "Sam Lee"}
    assert attributes["b@x.org"] == {"owner_as_entered": "sam   LEE"}
    assert attributes["e@x.org"] == {"owner_as_entered": "Nobody Here"}
    assert attributes["c@x.org"] == attributes["d@x.org"] == {}


def test_only_active_users_make_a_name_shared(write_list, run_import):
    sam = UserFactory(username="sam", first_name="Sam", last_name="Lee")
    UserFactory(username="old.sam", first_name="Sam", last_name="Lee", is_active=False)
    report = run_import(write_list("Email,Owner\na@x.org,Sam Lee\n"))

    assert _owners() == {"a@x.org": sam.pk}
    assert report["warnings"] == {}


def test_a_login_is_never_shadowed_by_a_shared_name():
    """A full name without a space ("Sam") can equal a login; the login still names its user."""
    sam = UserFactory(username="sam", first_name="Sam", last_name="")
    UserFactory(username="sam2", first_name="Sam", last_name="")
    UserFactory(username="kim1", first_name="Kim", last_name="")
    UserFactory(username="kim2", first_name="Kim", last_name="")

    directory = owner_directory()
    assert directory["sam"] == sam.pk
    assert directory["sam@example.com"] == sam.pk
    assert directory["kim"] is None  # shared by kim1 and kim2, the login of neither
