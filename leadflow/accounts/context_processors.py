from django.http import HttpRequest

from leadflow.accounts import navigation


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav_items": navigation.items_for(user, request.path)}
