"""Once it has read the table's keys (before its first chunk for a file of several chunks,
else before its second), an import asks the database only for the keys the table may
hold (lookup.KnownKeys): it must find every contact it found before, and a key another
writer adds while it runs must not make it fail nor create a second contact."""

import polars as pl
import pytest

from leadflow.acquisition.kinds import contacts as contacts_kind
from leadflow.acquisition.pipeline import lookup, read
from leadflow.acquisition.pipeline.lookup import KnownKeys
from leadflow.contacts.models import Contact
from leadflow.contacts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

# Two rows a chunk: the first chunk is looked up in full, the next ones through the hashes.
LIST = (
    "Email,First Name,Job Title,Customer Id\n"
    "new1@example.com,Nia,,\n"
    "first@example.com,Fay,,\n"
    "kept@example.com,Kim,CTO,\n"  # a stored contact, by email
    "old.address@example.com,Ola,CFO,\n"  # a stored contact's other email
    "someone@example.com,Sam,CEO,C-7\n"  # a stored contact's external id
    "FIRST@example.com,Fay,COO,\n"  # the second row again, two chunks later
    "new2@example.com,Ned,,\n"
)


@pytest.fixture
def stored(monkeypatch):
    monkeypatch.setattr(read, "CHUNK_ROWS", 2)
    return {
        "kept": ContactFactory(email="kept@example.com", first_name="Kim", job_title=""),
        "holder": ContactFactory(
            email="ola@example.com", other_emails=["old.address@example.com"], job_title=""
        ),
        "by_id": ContactFactory(email="sam@example.com", external_id="C-7", job_title=""),
    }


@pytest.fixture
def asked(monkeypatch):
    """Every email the database was asked for by key."""
    asked_for: list[str] = []
    by_keys = lookup.by_keys

    def spy(*, emails: list[str], external_ids: list[str]):
        asked_for.extend(emails)
        return by_keys(emails=emails, external_ids=external_ids)

    monkeypatch.setattr(lookup, "by_keys", spy)
    return asked_for


def test_later_chunks_find_stored_contacts_and_earlier_rows(stored, asked, write_list, run_import):
    report = run_import(write_list(LIST), "--on-duplicate", "update")

    assert (report["created"], report["updated"], report["skipped_in_file"]) == (3, 3, 1)
    for contact, title in (("kept", "CTO"), ("holder", "CFO"), ("by_id", "CEO")):
        stored[contact].refresh_from_db()
        assert stored[contact].job_title == title
    assert Contact.objects.get(email="first@example.com").job_title == "COO"
    assert Contact.objects.count() == 6
    # The first chunk asked for all of its emails; later ones only for the known ones.
    assert "new1@example.com" in asked
    assert "new2@example.com" not in asked
    assert {"kept@example.com", "old.address@example.com", "first@example.com"} <= set(asked)


def test_a_file_of_several_chunks_reads_the_keys_before_its_first(
    stored, asked, write_list, run_import, monkeypatch
):
    monkeypatch.setattr(contacts_kind, "KNOWN_KEYS_FILE_BYTES", len(LIST))
    report = run_import(write_list(LIST), "--on-duplicate", "update")

    assert (report["created"], report["updated"], report["skipped_in_file"]) == (3, 3, 1)
    assert Contact.objects.count() == 6
    assert not {"new1@example.com", "new2@example.com"} & set(asked)
    assert {"kept@example.com", "old.address@example.com", "first@example.com"} <= set(asked)


def test_a_smaller_file_asks_for_its_first_chunk_in_full(
    stored, asked, write_list, run_import, monkeypatch
):
    monkeypatch.setattr(contacts_kind, "KNOWN_KEYS_FILE_BYTES", len(LIST.encode()) + 1)
    run_import(write_list(LIST), "--on-duplicate", "update")

    assert "new1@example.com" in asked


def test_a_key_added_meanwhile_is_found_by_asking_again(
    stored, write_list, run_import, monkeypatch
):
    """Another writer adds new2@ and the id N-9 after the import read the table's keys:
    its COPY meets them, and that chunk is looked up again in full."""
    read_keys = KnownKeys.read

    def read_then_someone_writes(self):
        done = read_keys(self)
        ContactFactory(email="new2@example.com", first_name="Ned", job_title="")
        ContactFactory(email="nox@example.com", external_id="N-9", job_title="")
        return done

    monkeypatch.setattr(KnownKeys, "read", read_then_someone_writes)
    text = LIST.replace("new2@example.com,Ned,,", "new2@example.com,Ned,VP,") + (
        "nox.other@example.com,Nox,Dev,N-9\n"
    )
    report = run_import(write_list(text), "--on-duplicate", "update")

    assert report["details"][contacts_kind.CHUNKS_ASKED_AGAIN] == 1  # both in the last chunk
    assert Contact.objects.filter(email="new2@example.com").get().job_title == "VP"
    assert Contact.objects.filter(external_id="N-9").get().job_title == "Dev"
    assert (report["created"], report["updated"]) == (2, 5)


def test_known_keys_keep_only_what_the_table_may_hold():
    ContactFactory(email="a@example.com", other_emails=["b@example.com"], external_id="ID-1")
    known = KnownKeys()
    assert known.may_have(["z@example.com"]) == ["z@example.com"]  # nothing read: ask all
    assert known.read()

    assert known.may_have(["a@example.com", "b@example.com", "c@example.com"]) == [
        "a@example.com",
        "b@example.com",
    ]
    # An external id is a key of its own, even when it looks like someone's address.
    assert known.may_have(["ID-1", "a@example.com"], external_ids=True) == ["ID-1"]
    assert known.may_have(["ID-1"]) == []
    known.add(["c@example.com"], ["ID-2"])
    assert known.may_have(["c@example.com"]) == ["c@example.com"]
    assert known.may_have(["ID-2"], external_ids=True) == ["ID-2"]


def test_too_many_contacts_are_not_read(monkeypatch):
    ContactFactory(email="a@example.com")
    monkeypatch.setattr(lookup, "KNOWN_KEYS_AT_MOST", 0)
    known = KnownKeys()
    assert not known.read()
    assert (known.too_many, known.ready) == (True, False)
    assert known.may_have(["q@example.com"]) == ["q@example.com"]


def test_hashes_of_an_empty_table():
    known = KnownKeys()
    assert known.read()
    assert known.may_have(["a@example.com"]) == []
    assert pl.Series(known.may_have([])).is_empty()
