import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leadflow.accounts.models import Workspace
from leadflow.accounts.selectors import get_workspace
from leadflow.contacts.models import ActivityKind, Company, Contact, LifecycleStage
from leadflow.contacts.tests.factories import (
    ActivityFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db

LIST = reverse("contacts:list")


def _names(response) -> list[str]:
    """The contact names of the list's rows, in order."""
    html = response.content.decode()
    return re.findall(r'<a class="title" href="/contacts/\d+/">([^<]+)</a>', html)


# ---------------------------------------------------------------- access


def test_pages_need_a_signed_in_user(client):
    contact = ContactFactory()
    for url in (LIST, reverse("contacts:detail", args=[contact.pk]), reverse("contacts:companies")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_rep_lists_only_own_and_unassigned_contacts(rep_client, rep, other_rep):
    ContactFactory(first_name="Mine", last_name="Lead", owner=rep)
    ContactFactory(first_name="Nobody", last_name="Owns", owner=None)
    ContactFactory(first_name="Theirs", last_name="Lead", owner=other_rep)

    names = _names(rep_client.get(LIST))

    assert sorted(names) == ["Mine Lead", "Nobody Owns"]


def test_a_rep_gets_404_on_someone_elses_contact(rep_client, other_rep):
    theirs = ContactFactory(owner=other_rep)
    for name in ("detail", "edit", "delete", "timeline"):
        assert rep_client.get(reverse(f"contacts:{name}", args=[theirs.pk])).status_code == 404
    response = rep_client.post(reverse("contacts:note", args=[theirs.pk]), {"text": "hi"})
    assert response.status_code == 404
    assert not theirs.activities.filter(kind=ActivityKind.NOTE).exists()


def test_a_rep_sees_no_unassigned_contacts_when_the_workspace_says_so(rep_client):
    Workspace.objects.update_or_create(pk=1, defaults={"reps_see_unassigned": False})
    unassigned = ContactFactory(owner=None)
    assert rep_client.get(reverse("contacts:detail", args=[unassigned.pk])).status_code == 404


def test_a_rep_cannot_delete_or_reassign(rep_client, rep, other_rep):
    mine = ContactFactory(owner=rep)
    assert rep_client.post(reverse("contacts:delete", args=[mine.pk])).status_code == 403
    response = rep_client.post(reverse("contacts:owner", args=[mine.pk]), {"owner": other_rep.pk})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.owner == rep


# ---------------------------------------------------------------- list


def test_the_empty_list_says_what_it_is_for(admin_client_):
    response = admin_client_.get(LIST)
    assert response.status_code == 200
    assert b"Create contact" in response.content


def test_search_and_filters_narrow_the_list(admin_client_, rep):
    ads = ChannelFactory(name="Google Ads")
    ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        lifecycle_stage=LifecycleStage.MQL,
        owner=rep,
        score=90,
        first_touch_channel=ads,
    )
    ContactFactory(
        first_name="Grace", last_name="Hopper", lifecycle_stage=LifecycleStage.LEAD, score=10
    )
    ContactFactory(
        first_name="Alan", last_name="Turing", lifecycle_stage=LifecycleStage.MQL, score=40
    )

    def names(**params):
        return sorted(_names(admin_client_.get(LIST, params)))

    assert names(q="lovel") == ["Ada Lovelace"]
    assert names(stage="mql") == ["Ada Lovelace", "Alan Turing"]
    assert names(owner=str(rep.pk)) == ["Ada Lovelace"]
    assert names(owner="unassigned") == ["Alan Turing", "Grace Hopper"]
    assert names(channel=str(ads.pk)) == ["Ada Lovelace"]
    assert names(score_min="30", score_max="50") == ["Alan Turing"]


def test_the_my_leads_tab_shows_my_contacts(rep_client, rep):
    ContactFactory(first_name="Mine", last_name="Only", owner=rep)
    ContactFactory(first_name="Free", last_name="Lead", owner=None)
    response = rep_client.get(LIST, {"owner": "me"})
    assert _names(response) == ["Mine Only"]
    assert re.search(rb'aria-current="page">My leads<', response.content)


def test_sorting_by_a_column(admin_client_):
    ContactFactory(first_name="B", last_name="Beta", score=50)
    ContactFactory(first_name="A", last_name="Alpha", score=10)
    ContactFactory(first_name="C", last_name="Gamma", score=90)

    assert _names(admin_client_.get(LIST, {"sort": "name"})) == ["A Alpha", "B Beta", "C Gamma"]
    assert _names(admin_client_.get(LIST, {"sort": "score"})) == ["C Gamma", "B Beta", "A Alpha"]
    assert _names(admin_client_.get(LIST, {"sort": "score_asc"}))[0] == "A Alpha"


def test_next_and_previous_pages_walk_the_list(admin_client_):
    now = timezone.now()
    for i in range(55):
        ContactFactory(
            first_name="Person", last_name=f"{i:02d}", created_at=now - timedelta(minutes=i)
        )
    first = admin_client_.get(LIST)
    assert len(_names(first)) == 50
    assert b"55 contacts" in first.content
    next_url = re.search(rb'rel="next" href="([^"]+)"', first.content).group(1)
    second = admin_client_.get(LIST + next_url.decode().replace("&amp;", "&"))
    assert _names(second) == [f"Person {i:02d}" for i in range(50, 55)]
    prev_url = re.search(rb'rel="prev" href="([^"]+)"', second.content).group(1)
    back = admin_client_.get(LIST + prev_url.decode().replace("&amp;", "&"))
    assert _names(back) == _names(first)


def test_the_count_is_capped_on_huge_lists(admin_client_, monkeypatch):
    from leadflow.contacts import selectors

    ContactFactory.create_batch(4)
    original = selectors.count_contacts_capped
    monkeypatch.setattr(selectors, "count_contacts_capped", lambda qs, cap: original(qs, cap=3))
    assert b"3+ contacts" in admin_client_.get(LIST).content


@pytest.mark.parametrize(
    "params",
    [
        {"score_min": "abc"},
        {"score_max": "99999999999999999999999"},
        {"channel": "-1"},
        {"channel": "99999999999999999999999"},
        {"owner": "somebody"},
        {"owner": "99999999999999999999999"},
        {"stage": "<script>"},
        {"sort": "password"},
        {"cursor": "not-a-cursor"},
        {"cursor": "WzEsMl0", "sort": "newest"},  # valid base64 of [1,2] but not a date
        {"cursor": "WyJhYmMiLDFd", "sort": "score"},  # ["abc",1]: not a number
        {"cursor": "WzEwMDAwMDAwMDAwMDAwMDAwMDAwMCwxMDAwMDAwMDAwMDAwMDAwMDAwMDBd", "sort": "score"},
        {"dir": "sideways"},
        {"q": "nul\x00byte"},
        {"q": "x" * 5000},
        {"company": "abc"},
    ],
)
def test_bad_query_parameters_never_break_the_list(admin_client_, params):
    ContactFactory(first_name="Still", last_name="Here")
    response = admin_client_.get(LIST, params)
    assert response.status_code == 200
    assert b"Still Here" in response.content or "q" in params


def test_a_bad_filter_value_is_explained(admin_client_):
    response = admin_client_.get(LIST, {"score_min": "lots"})
    assert b"Minimum score: Enter a whole number." in response.content


def test_an_invalid_cursor_shows_a_message_and_the_first_page(admin_client_):
    ContactFactory(first_name="First", last_name="Page")
    response = admin_client_.get(LIST, {"cursor": "garbage!!"})
    assert b"This page link is no longer valid." in response.content
    assert _names(response) == ["First Page"]


def test_the_list_costs_the_same_queries_for_1_or_30_rows(
    admin_client_, rep_client, rep, django_assert_max_num_queries
):
    get_workspace()  # the row exists in every real installation; creating it is not the page's cost
    ContactFactory(owner=rep, company=CompanyFactory())
    with django_assert_max_num_queries(8) as one:
        admin_client_.get(LIST)
    for _ in range(30):
        ContactFactory(owner=rep, company=CompanyFactory(), first_touch_channel=ChannelFactory())
    with django_assert_max_num_queries(8) as many:
        admin_client_.get(LIST)
    assert len(many.captured_queries) == len(one.captured_queries)
    # A rep's list adds one read of the workspace setting, not one per row.
    with django_assert_max_num_queries(8):
        rep_client.get(LIST)


def test_names_with_markup_are_shown_as_text(admin_client_):
    contact = ContactFactory(first_name="<script>alert(1)</script>", last_name="<b>x</b>")
    contact.attributes = {"<i>k</i>": "<img src=x onerror=alert(1)>"}
    contact.save()
    ActivityFactory(contact=contact, data={"text": "<script>alert(2)</script>"})

    for url in (LIST, reverse("contacts:detail", args=[contact.pk])):
        html = admin_client_.get(url).content.decode()
        assert "<script>alert(" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<img src=x" not in html


# ---------------------------------------------------------------- contact page


def test_the_timeline_filters_by_type(admin_client_):
    contact = ContactFactory()
    ActivityFactory(contact=contact, kind=ActivityKind.NOTE, data={"text": "a note"})
    ActivityFactory(contact=contact, kind=ActivityKind.PAGE_VIEW, data={"title": "Pricing page"})
    url = reverse("contacts:timeline", args=[contact.pk])

    response = admin_client_.get(url, {"kind": "notes"}, HTTP_HX_REQUEST="true")

    assert b"a note" in response.content
    assert b"Pricing page" not in response.content


def test_the_timeline_says_where_an_import_or_a_merge_came_from(admin_client_):
    contact = ContactFactory()
    imported = {"import_job": 7, "file": "fair.csv", "line": 12, "vendor": "ListCo"}
    ActivityFactory(contact=contact, kind=ActivityKind.IMPORTED, data=imported)
    filled = {
        "source": "import",
        "import_job": 8,
        "file": "crm.csv",
        "line": 3,
        "fields": ["phone"],
    }
    ActivityFactory(contact=contact, kind=ActivityKind.UPDATED, data=filled)
    merged = {
        "duplicate": {"id": 41, "name": "Ann <b>Lee</b>", "email": "a@x.io"},
        "changed": ["phone"],
    }
    ActivityFactory(contact=contact, kind=ActivityKind.MERGED, data=merged)
    undone = {"duplicate": {"id": 41, "name": "Ann Lee", "email": ""}, "notes": ["phone: kept"]}
    ActivityFactory(contact=contact, kind=ActivityKind.MERGE_UNDONE, data=undone)

    html = admin_client_.get(reverse("contacts:detail", args=[contact.pk])).content.decode()

    assert "From fair.csv, line 12 (import #7) · bought from ListCo" in html
    assert "From crm.csv, line 3 (import #8)" in html and "Fields: phone" in html
    assert "Merged with Ann &lt;b&gt;Lee&lt;/b&gt;" in html and "Filled or changed: phone" in html
    assert "Separated again from Ann Lee" in html and "phone: kept" in html


def test_adding_a_note_puts_it_on_the_timeline(admin_client_, admin_user):
    contact = ContactFactory()
    url = reverse("contacts:note", args=[contact.pk])

    response = admin_client_.post(url, {"text": "Wants a call on Monday"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"Wants a call on Monday" in response.content
    note = contact.activities.get(kind=ActivityKind.NOTE)
    assert note.actor == admin_user


def test_an_empty_note_is_refused_beside_the_box(admin_client_):
    contact = ContactFactory()
    url = reverse("contacts:note", args=[contact.pk])
    response = admin_client_.post(url, {"text": "   "}, HTTP_HX_REQUEST="true")
    assert b"Write something before saving the note." in response.content
    assert not contact.activities.filter(kind=ActivityKind.NOTE).exists()


def test_changing_the_stage_records_who_and_why(admin_client_, admin_user):
    contact = ContactFactory(lifecycle_stage=LifecycleStage.LEAD)
    response = admin_client_.post(
        reverse("contacts:stage", args=[contact.pk]),
        {"to_stage": "mql", "reason": "Downloaded two e-books"},
    )
    assert response.status_code == 302
    change = contact.stage_changes.get(to_stage="mql")
    assert (change.actor, change.reason) == (admin_user, "Downloaded two e-books")


def test_a_manager_assigns_an_owner(manager_client, rep):
    contact = ContactFactory(owner=None)
    manager_client.post(reverse("contacts:owner", args=[contact.pk]), {"owner": rep.pk})
    contact.refresh_from_db()
    assert contact.owner == rep


# ---------------------------------------------------------------- create, edit, delete


def test_creating_a_contact(rep_client, rep):
    response = rep_client.post(
        reverse("contacts:create"),
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": " Grace@Navy.MIL ",
            "country": "us",
            "consent": "granted",
            "lifecycle_stage": "lead",
        },
    )
    contact = Contact.objects.get(email="grace@navy.mil")
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])
    # A rep's new contact is theirs, and the country is stored as a code.
    assert (contact.owner, contact.country) == (rep, "US")
    assert contact.activities.filter(kind=ActivityKind.CREATED).exists()


def test_a_duplicate_email_is_shown_beside_the_field_and_input_is_kept(admin_client_):
    ContactFactory(email="taken@example.com")
    response = admin_client_.post(
        reverse("contacts:create"),
        {
            "first_name": "Typed Name",
            "email": "TAKEN@example.com",
            "consent": "unknown",
            "lifecycle_stage": "lead",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "already exists" in form.errors["email"][0]
    assert b'value="Typed Name"' in response.content
    assert Contact.objects.count() == 1


def test_an_invalid_email_is_shown_beside_the_field(admin_client_):
    response = admin_client_.post(
        reverse("contacts:create"),
        {
            "first_name": "X",
            "email": "not an email",
            "consent": "unknown",
            "lifecycle_stage": "lead",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert b'value="not an email"' in response.content


def test_a_contact_needs_a_name_or_email(admin_client_):
    response = admin_client_.post(
        reverse("contacts:create"),
        {
            "consent": "unknown",
            "lifecycle_stage": "lead",
        },
    )
    assert b"at least a name or an email address" in response.content


def test_editing_a_contact_records_the_change(admin_client_):
    contact = ContactFactory(first_name="Old", email="ada@example.com")
    url = reverse("contacts:edit", args=[contact.pk])
    assert admin_client_.get(url).status_code == 200

    response = admin_client_.post(
        url,
        {
            "first_name": "New",
            "last_name": contact.last_name,
            "email": "ada@example.com",
            "consent": "unknown",
        },
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "New"
    update = contact.activities.get(kind=ActivityKind.UPDATED)
    assert update.data["first_name"] == {"from": "Old", "to": "New"}


def test_editing_to_a_taken_email_keeps_the_form(admin_client_):
    ContactFactory(email="taken@example.com")
    contact = ContactFactory(email="mine@example.com")
    response = admin_client_.post(
        reverse("contacts:edit", args=[contact.pk]),
        {
            "first_name": "Me",
            "email": "taken@example.com",
            "consent": "unknown",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    contact.refresh_from_db()
    assert contact.email == "mine@example.com"


def test_deleting_asks_first_then_deletes(manager_client):
    contact = ContactFactory()
    url = reverse("contacts:delete", args=[contact.pk])
    assert b"cannot be undone" in manager_client.get(url).content
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert manager_client.post(url).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()


# ---------------------------------------------------------------- companies and search


def test_companies_list_search_and_page(admin_client_):
    acme = CompanyFactory(name="Acme Rockets", domain="acme.example")
    CompanyFactory(name="Globex")
    ContactFactory.create_batch(2, company=acme)

    response = admin_client_.get(reverse("contacts:companies"), {"q": "acme"})

    html = response.content.decode()
    assert "Acme Rockets" in html and "Globex" not in html
    detail = admin_client_.get(reverse("contacts:company", args=[acme.pk]))
    assert detail.status_code == 200
    assert detail.context["contact_total"] == 2


def test_a_company_page_shows_its_external_id_and_attributes_escaped(admin_client_):
    acme = CompanyFactory(
        name="Acme", external_id="A-1", attributes={"tier": "<b>Gold</b>", "region": "EMEA"}
    )
    html = admin_client_.get(reverse("contacts:company", args=[acme.pk])).content.decode()
    assert "Custom attributes" in html and "A-1" in html and "EMEA" in html
    assert "&lt;b&gt;Gold&lt;/b&gt;" in html and "<b>Gold</b>" not in html

    plain = CompanyFactory(name="Plain")
    html = admin_client_.get(reverse("contacts:company", args=[plain.pk])).content.decode()
    assert "Custom attributes" not in html


def test_creating_and_editing_a_company(admin_client_):
    response = admin_client_.post(
        reverse("contacts:company_create"),
        {
            "name": "Initech",
            "domain": "www.Initech.example",
            "size": "120",
        },
    )
    company = Company.objects.get(name="Initech")
    assert response.status_code == 302
    assert company.domain == "initech.example"

    duplicate = admin_client_.post(
        reverse("contacts:company_create"),
        {
            "name": "Initech 2",
            "domain": "initech.example",
        },
    )
    assert duplicate.status_code == 200
    assert duplicate.context["form"].errors["domain"]

    admin_client_.post(
        reverse("contacts:company_edit", args=[company.pk]),
        {
            "name": "Initech Corp",
            "domain": "initech.example",
        },
    )
    company.refresh_from_db()
    assert company.name == "Initech Corp"


def test_global_search_answers_as_you_type(admin_client_):
    ContactFactory(first_name="Marguerite", last_name="Duras")
    CompanyFactory(name="Marguerite Books")
    response = admin_client_.get(reverse("contacts:search"), {"q": "margu"}, HTTP_HX_REQUEST="true")
    assert b"Marguerite Duras" in response.content
    assert b"Marguerite Books" in response.content
    plain = admin_client_.get(reverse("contacts:search"), {"q": "margu"})
    assert plain.status_code == 302 and "q=margu" in plain["Location"]


def test_unknown_pages_use_the_product_404(admin_client_):
    response = admin_client_.get("/contacts/99999999/")
    assert response.status_code == 404
    assert b"We couldn't find that page" in response.content


def test_out_of_range_ids_answer_404_or_a_form_error(admin_client_):
    huge = "9" * 25
    assert admin_client_.get(f"/contacts/{huge}/").status_code == 404
    assert admin_client_.get(f"/companies/{huge}/").status_code == 404
    response = admin_client_.post(
        reverse("contacts:create"),
        {
            "first_name": "Big",
            "company": huge,
            "owner": huge,
            "consent": "unknown",
            "lifecycle_stage": "lead",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["company"]
    assert admin_client_.get(reverse("contacts:create"), {"company": huge}).status_code == 200


def test_custom_attributes_are_edited_on_the_company_form(admin_client_):
    acme = CompanyFactory(name="Acme", attributes={"tier": "Gold", "seats": 40, "note": "a\nb"})
    url = reverse("contacts:company_edit", args=[acme.pk])
    shown = admin_client_.get(url).context["form"]["attributes"].value()
    # (PostgreSQL's jsonb keeps its own key order)
    assert sorted(shown.splitlines()) == ["note: a\\nb", "seats: 40", "tier: Gold"]

    response = admin_client_.post(
        url,
        {
            "name": "Acme",
            # seats and note as they were, tier changed, region added, nothing removed
            "attributes": "tier: Platinum\nseats: 40\nnote: a\\nb\n\nregion:  EMEA ",
        },
    )

    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.attributes == {"tier": "Platinum", "seats": 40, "note": "a\nb", "region": "EMEA"}


def test_a_bad_attributes_line_is_shown_with_its_number_and_nothing_changes(admin_client_):
    contact = ContactFactory(email="ada@example.com", attributes={"tier": "Gold"})
    url = reverse("contacts:edit", args=[contact.pk])
    for text, message in (
        ("tier: Gold\nno colon here", "Line 2: write it as name: value."),
        ("tier: Gold\ntier: Silver", "Line 2: tier is given twice."),
        (": orphan", "Line 1: write it as name: value."),
    ):
        response = admin_client_.post(
            url, {"email": "ada@example.com", "consent": "unknown", "attributes": text}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["attributes"] == [message]
    contact.refresh_from_db()
    assert contact.attributes == {"tier": "Gold"}


def test_removing_an_attribute_line_removes_it_and_the_timeline_says_so(admin_client_):
    contact = ContactFactory(email="ada@example.com", attributes={"tier": "Gold", "source": "X"})
    admin_client_.post(
        reverse("contacts:edit", args=[contact.pk]),
        {"email": "ada@example.com", "consent": "unknown", "attributes": "tier: Gold"},
    )
    contact.refresh_from_db()
    assert contact.attributes == {"tier": "Gold"}
    update = contact.activities.get(kind=ActivityKind.UPDATED)
    assert update.data["attributes"]["from"] == {"tier": "Gold", "source": "X"}


def test_a_post_without_the_attributes_field_keeps_them(admin_client_):
    contact = ContactFactory(email="ada@example.com", attributes={"tier": "Gold"})
    admin_client_.post(
        reverse("contacts:edit", args=[contact.pk]),
        {"first_name": "Ada", "email": "ada@example.com", "consent": "unknown"},
    )
    contact.refresh_from_db()
    assert (contact.first_name, contact.attributes) == ("Ada", {"tier": "Gold"})
