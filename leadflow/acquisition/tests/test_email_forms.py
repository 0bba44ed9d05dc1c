"""Addresses as mail programs and CRMs export them: with a display name, as a mailto: link,
or at an internationalised domain."""

import pytest

from leadflow.acquisition.pipeline.normalise import normalise_contacts
from leadflow.acquisition.pipeline.validate import INVALID_EMAIL, REASON, validate_contacts
from leadflow.acquisition.tests.test_pipeline import _frame
from leadflow.contacts.models import Contact
from leadflow.contacts.normalise import validate_email_address


def _read(emails: list[str]) -> list[tuple[str | None, str | None]]:
    frame = _frame(email=emails)
    out = validate_contacts(
        normalise_contacts(frame, region="US"), header_width=1, allow_no_email=False
    )
    return list(zip(out["email"], out[REASON], strict=True))


def test_the_address_of_a_display_name_or_a_mailto_link_is_taken():
    assert _read(
        ["Ann Lee <Ann@X.com>", '"Lee, Ann" < ann@z.io >', "mailto:BOB@y.org", "<c@d.com>"]
    ) == [("ann@x.com", None), ("ann@z.io", None), ("bob@y.org", None), ("c@d.com", None)]


def test_an_internationalised_domain_is_valid_and_stored_as_web_forms_store_it():
    assert _read(["ann@Bücher.de", "li@例え.jp", "bo@xn--bcher-kva.de", "ann@bü_cher.de"]) == [
        ("ann@bücher.de", None),  # what validate_email_address gives a web form
        ("li@例え.jp", None),
        ("bo@bücher.de", None),  # typed in its ASCII form: stored as a form stores it
        ("ann@bü_cher.de", INVALID_EMAIL),
    ]
    assert validate_email_address("ann@Bücher.de") == "ann@bücher.de"


def test_a_local_part_outside_ascii_is_still_refused():
    # Such mailboxes need SMTPUTF8 end to end, which most senders and receivers lack.
    assert _read(["jörg@x.de"]) == [("jörg@x.de", INVALID_EMAIL)]


@pytest.mark.django_db
def test_an_outlook_export_imports_with_its_display_names(write_list, run_import):
    text = "E-mail Address,First Name\nAnn Lee <ann@x.com>,Ann\nmailto:bo@y.org,Bo\n"
    report = run_import(write_list(text))
    assert (report["created"], report["rejected"]) == (2, 0)
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["ann@x.com", "bo@y.org"]


def test_a_trailing_dot_is_a_typo_not_a_reason_to_lose_the_row():
    assert _read(["mary@example.com.", "bo@x.org.."]) == [
        ("mary@example.com", None),
        ("bo@x.org", None),
    ]


@pytest.mark.django_db
def test_an_idn_address_typed_in_either_form_is_one_contact(write_list, run_import):
    run_import(write_list("Email\nann@bücher.de\n"))
    report = run_import(write_list("Email\nann@xn--bcher-kva.de\n"))
    assert (report["created"], report["skipped_in_database"]) == (0, 1)
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@bücher.de"]
