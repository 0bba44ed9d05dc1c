"""Reads about users and the workspace."""

from django.db.models import QuerySet

from leadflow.accounts.models import Role, User, Workspace


def get_workspace() -> Workspace:
    workspace, _ = Workspace.objects.get_or_create(pk=1)
    return workspace


def list_active_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


def list_active_reps() -> QuerySet[User]:
    """People who can own leads: reps and their managers."""
    return list_active_users().filter(role__in=[Role.SALES_REP, Role.SALES_MANAGER])
