"""Addresses at domains reserved for tests and invalid names never reach anyone (RFC 2606, 6761)."""

import pytest

from leadflow.acquisition.pipeline.normalise import normalise_contacts
from leadflow.acquisition.pipeline.validate import INVALID_EMAIL, REASON, validate_contacts
from leadflow.acquisition.tests.test_pipeline import _frame
from leadflow.contacts.models import Contact


def _reasons(emails: list[str]) -> list[str | None]:
    frame = _frame(email=emails, first_name=["A"] * len(emails))
    out = validate_contacts(
        normalise_contacts(frame, region="US"), header_width=2, allow_no_email=False
    )
    return out[REASON].to_list()


@pytest.mark.parametrize(
    "email",
    [
        "ann@acme.invalid",
        "ann@acme.test",
        "ann@mail.acme.localhost",
        "ann@printer.local",
        "Ann@ACME.TEST",
    ],
)
def test_an_address_at_a_reserved_top_level_domain_is_refused(email):
    assert _reasons([email]) == [INVALID_EMAIL]


@pytest.mark.parametrize(
    "email",
    [
        "ann@example.com",  # reserved too, but what sample lists (and our tests) use
        "ann@acme.example",  # likewise, and the demo workspace's addresses
        "ann@test.com",
        "ann@local.io",
        "ann@acme.testing",
        "ann@invalid.acme.co.uk",
        "ann@acme.locals",
    ],
)
def test_an_address_that_only_looks_reserved_is_accepted(email):
    assert _reasons([email]) == [None]


@pytest.mark.django_db
def test_an_import_rejects_rows_at_reserved_domains(write_list, run_import):
    text = "Email,First Name\nann@acme.com,Ann\nbob@acme.test,Bob\ncy@host.invalid,Cy\n"

    report = run_import(write_list(text))

    assert report["created"] == 1
    assert report["rejected_by_reason"] == {INVALID_EMAIL: 2}
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@acme.com"]
