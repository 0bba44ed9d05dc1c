"""Django admin for every model: each registered list and add page opens for an admin."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from leadflow.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def leadflow_models():
    return [m for m in apps.get_models() if m.__module__.startswith("leadflow.")]


def inline_models() -> set:
    return {
        inline.model
        for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines
    }


def test_every_leadflow_model_is_in_the_admin():
    covered = set(admin.site._registry) | inline_models()
    assert [m.__name__ for m in leadflow_models() if m not in covered] == []


@pytest.mark.parametrize(
    "model", [m for m in leadflow_models() if m in admin.site._registry], ids=lambda m: m.__name__
)
def test_each_admin_list_opens(client, model):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200
