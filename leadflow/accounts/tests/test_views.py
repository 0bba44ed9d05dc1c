import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from leadflow.accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters live in the shared (database) cache, as in production.
    cache.clear()
    yield
    cache.clear()


def test_the_sign_in_page_has_labelled_fields(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username"' in html and '<label for="id_password"' in html


def test_signing_in_lands_on_the_contacts_list(client):
    UserFactory(username="ann")
    response = client.post(LOGIN, {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:list")


def test_a_wrong_password_is_explained_and_keeps_the_username(client):
    UserFactory(username="ann")
    response = client.post(LOGIN, {"username": "ann", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert b'value="ann"' in response.content


@override_settings(LOGIN_RATE="3/m")
def test_repeated_wrong_passwords_are_throttled(client):
    UserFactory(username="ann")
    statuses = [
        client.post(LOGIN, {"username": "ann", "password": "wrong"}).status_code for _ in range(4)
    ]
    # Three wrong tries are answered; the fourth is refused before the password is checked.
    assert statuses == [200, 200, 200, 429]

    response = client.post(LOGIN, {"username": "ann", "password": PASSWORD})

    assert response.status_code == 429
    assert b"Too many attempts" in response.content


@override_settings(LOGIN_RATE="3/m")
def test_the_throttle_is_per_username_and_address_not_for_everyone(client):
    UserFactory(username="ann")
    UserFactory(username="bob")
    for _ in range(3):
        client.post(LOGIN, {"username": "ann", "password": "wrong"}, REMOTE_ADDR="10.0.0.1")
    other = client.post(LOGIN, {"username": "bob", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert other.status_code == 302


def test_signing_out_takes_a_post(client):
    user = UserFactory(username="ann")
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("contacts:list")).status_code == 302


def test_the_layout_shows_navigation_and_the_user_menu(admin_client_):
    html = admin_client_.get(reverse("contacts:list")).content.decode()
    assert 'aria-current="page"' in html  # the current section is marked
    assert 'href="/companies/"' in html and 'href="/deals/"' in html
    assert f'action="{reverse("logout")}"' in html
    assert "Sales rep" not in html and "Admin" in html


def test_anonymous_404_uses_the_plain_layout(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We couldn't find that page" in response.content


def test_the_500_page_renders_without_a_request():
    # Django renders 500.html with no context at all; it must not need one.
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong on our side" in html
