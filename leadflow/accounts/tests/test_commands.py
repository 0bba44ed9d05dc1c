"""`leadflow apikey`: keys a machine can use, shown once, stored only as a hash."""

import json
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from leadflow.accounts.models import ApiKey
from leadflow.accounts.services import InvalidApiKey, authenticate_api_key
from leadflow.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def apikey(*args: str) -> str:
    out = StringIO()
    call_command("apikey", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_created_key_authenticates_as_its_user():
    user = UserFactory(username="zapier")

    created = json.loads(
        apikey("create", "--user", "zapier", "--name", "CRM sync", "--format", "json")
    )

    assert authenticate_api_key(created["key"]) == user
    assert created["user"] == "zapier"
    assert created["name"] == "CRM sync"
    assert created["key"].startswith(f"lf_{created['prefix']}_")


def test_the_secret_is_not_stored():
    UserFactory(username="zapier")

    created = json.loads(apikey("create", "--user", "zapier", "--format", "json"))

    # lf_<prefix>_<secret>: the secret itself may hold underscores (token_urlsafe).
    secret = created["key"].split("_", 2)[2]
    assert len(secret) >= 40
    row = ApiKey.objects.values().get(prefix=created["prefix"])
    assert not any(secret in str(value) for value in row.values())


def test_the_text_format_prints_only_the_key_on_stdout():
    UserFactory(username="zapier")

    key = apikey("create", "--user", "zapier").strip()

    assert authenticate_api_key(key).username == "zapier"


def test_a_key_for_an_unknown_user_is_refused():
    with pytest.raises(CommandError, match="nobody"):
        apikey("create", "--user", "nobody")
    assert not ApiKey.objects.exists()


def test_a_key_for_a_deactivated_user_is_refused():
    UserFactory(username="gone", is_active=False)
    with pytest.raises(CommandError):
        apikey("create", "--user", "gone")


@pytest.mark.django_db(transaction=True)  # the CLI closes its connections when it ends
def test_the_console_script_exits_non_zero_with_the_error_on_stderr(capsys):
    utility = ManagementUtility(["leadflow", "apikey", "create", "--user", "nobody"])

    with pytest.raises(SystemExit) as exit_:
        utility.execute()

    assert exit_.value.code != 0
    captured = capsys.readouterr()
    assert "nobody" in captured.err
    assert captured.out == ""


def test_list_shows_keys_without_their_secrets():
    UserFactory(username="zapier")
    UserFactory(username="segment")
    first = json.loads(apikey("create", "--user", "zapier", "--format", "json"))
    second = json.loads(apikey("create", "--user", "segment", "--format", "json"))

    listed = json.loads(apikey("list", "--format", "json"))

    assert {row["prefix"] for row in listed} == {first["prefix"], second["prefix"]}
    assert all(not row["revoked"] for row in listed)
    text = json.dumps(listed)
    assert first["key"] not in text and second["key"] not in text
    only_zapier = json.loads(apikey("list", "--user", "zapier", "--format", "json"))
    assert [row["prefix"] for row in only_zapier] == [first["prefix"]]


def test_a_revoked_key_no_longer_authenticates():
    UserFactory(username="zapier")
    created = json.loads(apikey("create", "--user", "zapier", "--format", "json"))

    revoked = json.loads(apikey("revoke", created["prefix"], "--format", "json"))

    assert revoked == {"prefix": created["prefix"], "revoked": True}
    with pytest.raises(InvalidApiKey):
        authenticate_api_key(created["key"])
    [row] = json.loads(apikey("list", "--format", "json"))
    assert row["revoked"] is True


def test_revoking_an_unknown_prefix_is_an_error():
    with pytest.raises(CommandError, match="abc123"):
        apikey("revoke", "abc123")
