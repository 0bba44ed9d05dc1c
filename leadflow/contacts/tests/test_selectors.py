import pytest

from leadflow.accounts.models import Workspace
from leadflow.contacts import selectors
from leadflow.contacts.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_a_rep_sees_own_and_unassigned_leads_only(rep, other_rep):
    mine = ContactFactory(owner=rep)
    unassigned = ContactFactory(owner=None)
    ContactFactory(owner=other_rep)

    visible = set(selectors.list_visible_contacts(user=rep))

    assert visible == {mine, unassigned}


def test_a_rep_sees_no_unassigned_leads_when_the_workspace_says_so(rep):
    Workspace.objects.update_or_create(pk=1, defaults={"reps_see_unassigned": False})
    mine = ContactFactory(owner=rep)
    ContactFactory(owner=None)

    assert list(selectors.list_visible_contacts(user=rep)) == [mine]


def test_managers_and_marketing_see_everyone(manager, marketer, rep):
    ContactFactory(owner=rep)
    ContactFactory(owner=None)
    assert selectors.list_visible_contacts(user=manager).count() == 2
    assert selectors.list_visible_contacts(user=marketer).count() == 2


def test_search_matches_email_name_and_company():
    acme = CompanyFactory(name="Acme Rockets")
    by_company = ContactFactory(company=acme, first_name="Zed", last_name="Q")
    by_name = ContactFactory(first_name="Marguerite", last_name="Duras")
    by_email = ContactFactory(email="special.person@domain.example")
    contacts = selectors.list_visible_contacts
    del contacts

    def found(text):
        return set(selectors.search_contacts(selectors.Contact.objects.all(), text))

    assert found("acme") == {by_company}
    assert found("margue") == {by_name}
    assert found("special.person@") == {by_email}


def test_keyset_pages_walk_every_contact_once_in_both_directions():
    contacts = [ContactFactory(score=i % 3) for i in range(23)]
    for sort in selectors.CONTACT_SORTS:
        seen, cursor = [], ""
        pages = []
        while True:
            page = selectors.paginate_contacts(
                selectors.Contact.objects.all(), sort=sort, cursor=cursor, limit=5
            )
            pages.append(page)
            seen.extend(c.pk for c in page.items)
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        assert sorted(seen) == sorted(c.pk for c in contacts), sort
        assert len(seen) == len(set(seen)), sort
        back = selectors.paginate_contacts(
            selectors.Contact.objects.all(),
            sort=sort,
            cursor=pages[-1].prev_cursor,
            limit=5,
            backwards=True,
        )
        assert [c.pk for c in back.items] == [c.pk for c in pages[-2].items], sort


def test_a_forged_cursor_is_refused_cleanly():
    with pytest.raises(selectors.InvalidCursor):
        selectors.paginate_contacts(selectors.Contact.objects.all(), cursor="!!garbage")


def test_only_contacts_who_consented_are_marketable():
    from leadflow.contacts.models import ConsentState

    yes = ContactFactory(consent=ConsentState.GRANTED)
    ContactFactory(consent=ConsentState.PENDING)
    ContactFactory(consent=ConsentState.WITHDRAWN)
    ContactFactory(consent=ConsentState.UNKNOWN)
    ContactFactory(consent=ConsentState.GRANTED, email=None)

    assert list(selectors.list_marketable_contacts()) == [yes]


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        ("newest", [1, 2]),
        ("score", ["abc", 1]),
        ("name", [5, 1]),
        ("newest", ["2026-01-01", 1]),
        ("score", [1, 2**70]),
        ("score", [True, 1]),
    ],
)
def test_a_page_link_of_the_wrong_type_is_refused_cleanly(sort, values):
    cursor = selectors.encode_cursor(values)
    with pytest.raises(selectors.InvalidCursor):
        selectors.paginate_contacts(selectors.Contact.objects.all(), sort=sort, cursor=cursor)
