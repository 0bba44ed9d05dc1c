from django.http import HttpRequest

from leadflow.accounts.navigation import items_for


def navigation(request: HttpRequest) -> dict:
    """The left navigation for the signed-in user's role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_items": items_for(user, request.path)}
