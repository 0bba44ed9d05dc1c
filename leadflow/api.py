"""The REST API under /api/v1/: each app's router, one auth, one way to answer errors."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from leadflow.accounts.services import InvalidApiKey, authenticate_api_key
from leadflow.errors import LeadflowError


class BearerKey(HttpBearer):
    """Machines send `Authorization: Bearer lf_...` (keys from `leadflow apikey create`)."""

    def authenticate(self, request: HttpRequest, token: str):
        try:
            user = authenticate_api_key(token)
        except InvalidApiKey:
            return None
        request.user = user
        return user


class BrowserSession(SessionAuth):
    """The web UI's own calls ride on the signed-in session (with CSRF)."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is not None and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Leadflow API",
    version="1",
    description="Contacts, companies, activities and deals. Authenticate with "
    "`Authorization: Bearer <key>`; create a key with `leadflow apikey create --user NAME`.",
    auth=[BearerKey(), BrowserSession()],
    urls_namespace="api",
)


@api.exception_handler(LeadflowError)
def on_domain_error(request: HttpRequest, exc: LeadflowError):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError):
    # 422 with one message per field, in the shape Ninja documents; a check of our own reads
    # "Enter an email address.", not pydantic's "Value error, Enter an email address.".
    errors = [
        {**error, "msg": str(error.get("msg", "")).removeprefix("Value error, ")}
        for error in exc.errors
    ]
    return api.create_response(request, {"detail": errors}, status=422)


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig):
    # Django's answer would be an HTML 400 page; an API client reads JSON.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"The request body is larger than {limit} bytes."}, status=413
    )


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError):
    return api.create_response(
        request,
        {"detail": "Authentication required: send Authorization: Bearer <API key>."},
        status=401,
    )


def _add_routers() -> None:
    from leadflow.capture.api import router as capture_router
    from leadflow.contacts.api import router as contacts_router
    from leadflow.sales.api import router as sales_router

    api.add_router("", contacts_router)
    api.add_router("", capture_router)
    api.add_router("", sales_router)


_add_routers()
