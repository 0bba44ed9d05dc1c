"""The inbound path a new user sees at once: /p/demo with the form /f/demo (PRODUCT.md)."""

import pytest
from django.core.cache import cache
from django.test import Client

from leadflow.contacts.models import ActivityKind, ConsentState, Contact
from leadflow.demo.generate import load_demo_workspace

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_landing_page_whose_form_makes_a_contact():
    cache.clear()
    load_demo_workspace(contacts=20)
    visitor = Client()

    page = visitor.get("/p/demo?utm_source=newsletter&utm_medium=email")
    html = page.content.decode()
    assert page.status_code == 200
    for field in ('name="email"', 'name="first_name"', 'name="consent"'):
        assert field in html

    response = visitor.post(
        "/f/demo", {"email": "new.reader@example.com", "first_name": "Nia", "consent": "on"}
    )
    assert response.status_code == 200
    contact = Contact.objects.get(email="new.reader@example.com")
    assert contact.consent == ConsentState.GRANTED
    assert contact.activities.filter(kind=ActivityKind.FORM_SUBMITTED).exists()


def test_a_second_load_keeps_one_demo_form_and_page():
    load_demo_workspace(contacts=20)
    load_demo_workspace(contacts=20)
    from leadflow.capture.models import Form, LandingPage

    assert Form.objects.filter(slug="demo").count() == 1
    assert LandingPage.objects.filter(slug="demo", is_published=True).count() == 1
    assert Form.objects.get(slug="demo").fields.count() == 3
