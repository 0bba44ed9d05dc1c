"""Signing in and out. A wrong password is throttled per address and per username."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django_ratelimit.core import get_usage


def _username_key(group: str, request: HttpRequest) -> str:
    return (request.POST.get("username") or "").strip().lower()[:150]


def _login_throttled(request: HttpRequest, *, increment: bool) -> bool:
    """Counts wrong passwords per address and per username; once either has used up the
    rate, the next attempt is refused before the password is even checked."""
    limited = False
    for group, key in (("login-ip", "ip"), ("login-user", _username_key)):
        usage = get_usage(
            request, group=group, key=key, rate=settings.LOGIN_RATE, increment=increment
        )
        if usage is not None and usage["count"] >= usage["limit"]:
            limited = True
    return limited


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if _login_throttled(request, increment=False):
            return rate_limited(request)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        # Only failures count: a team signing in from one office must not lock itself out.
        _login_throttled(self.request, increment=True)
        return super().form_invalid(form)


class LogoutView(auth_views.LogoutView):
    pass


@login_not_required
def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "accounts/rate_limited.html", status=429)
