"""The public endpoints customers paste into their sites: /f/<slug> (a form: GET renders it,
POST takes form-encoded or JSON), /f/<slug>/embed.js, and /p/<slug> (a hosted landing page).

No login, so each is rate-limited per address and per form, size-capped, and answers bad
input with a clear 4xx. Nothing a person typed is shown back unescaped.
"""

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from leadflow.capture import (
    email_links,
    magnets,
    protection,
    selectors,
    services,
    tasks,
    tracking,
    webinars,
)
from leadflow.capture.attribution import UTM_KEYS
from leadflow.capture.models import Form, SubmissionStatus
from leadflow.capture.validation import check_submission
from leadflow.contacts.normalise import storable_json

MAX_BODY_BYTES = 64 * 1024


def _wants_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    accept = request.headers.get("Accept", "")
    return content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _cors(response: HttpResponse) -> HttpResponse:
    # Embedded forms post from the customer's own origin. No cookies ride along
    # (no credentials), so allowing any origin exposes nothing.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _error(request: HttpRequest, status: int, message: str, form: Form | None = None):
    if _wants_json(request) or form is None:
        return _cors(JsonResponse({"ok": False, "error": message}, status=status))
    return _cors(
        render(request, "capture/message.html", {"form": form, "message": message}, status=status)
    )


def _over_address_rate(request: HttpRequest) -> bool:
    return is_ratelimited(
        request, group="capture-ip", key="ip", rate=settings.CAPTURE_RATE_PER_IP, increment=True
    )


def _over_form_rate(request: HttpRequest, slug: str) -> bool:
    return is_ratelimited(
        request,
        group=f"capture-form-{slug}",
        key=lambda g, r: slug,
        rate=settings.CAPTURE_RATE_PER_FORM,
        increment=True,
    )


def _parse_body(request: HttpRequest) -> dict[str, Any]:
    """The posted values as a flat dict; ValueError with a reason when unreadable."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise RequestDataTooBig("too big")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        raise RequestDataTooBig("too big")
    if request.content_type == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError("The request body is not valid UTF-8.") from exc
        except json.JSONDecodeError as exc:
            raise ValueError(f"The request body is not valid JSON: {exc.msg}.") from exc
        if not isinstance(data, dict):
            raise ValueError("Send a JSON object of field names and values.")
        # JSON may carry NUL or lone surrogates, which no database column can keep.
        return storable_json({str(k): v for k, v in list(data.items())[:200]})
    if request.content_type == "multipart/form-data":
        try:
            posted = request.POST
        except MultiPartParserError as exc:
            raise ValueError("The form data could not be read.") from exc
    elif request.content_type in ("application/x-www-form-urlencoded", ""):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError("The submitted text is not valid UTF-8.") from exc
        posted = QueryDict(body, encoding="utf-8")
    else:
        raise ValueError(
            "Send the form as application/x-www-form-urlencoded, multipart/form-data or JSON."
        )
    # %00 decodes to NUL, which no database column can keep (see storable_json).
    return storable_json(
        {
            key: values if len(values := posted.getlist(key)) > 1 else posted.get(key)
            for key in list(posted.keys())[:200]
        }
    )


def _context(request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    """Where the submission came from: the page it was made on, that page's UTM parameters,
    and the referrer that brought the visitor to it."""
    page = str(data.get("_page") or request.headers.get("Referer") or "")[:2000]
    utm = {}
    for source in (request.GET, dict(parse_qsl(urlsplit(page).query)) if page else {}):
        for key in UTM_KEYS:
            value = source.get(key)
            if value and key not in utm:
                utm[key] = str(value)[:200]
    return {
        "page": page,
        "referrer": str(data.get("_ref") or "")[:2000],
        "utm": utm,
        "visitor_id": str(data.get("_vid") or "")[:64],
        "own_host": urlsplit(page).hostname or "",
    }


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def render_form_html(
    request: HttpRequest,
    form: Form,
    *,
    values=None,
    errors=None,
    page: str = "",
    referrer: str = "",
    visitor_id: str = "",
) -> str:
    """The form's markup, for the hosted page, the iframe and the landing page block."""
    return render_to_string(
        "capture/_form.html",
        {
            "form": form,
            "fields": list(form.fields.all()),
            "values": values or {},
            "errors": errors or {},
            "token": protection.render_token(),
            "action": reverse("capture:form", args=[form.slug]),
            "page": page,
            "referrer": referrer,
            "visitor_id": visitor_id if tracking.VISITOR_ID.match(visitor_id) else "",
        },
        request=request,
    )


@csrf_exempt  # posted from customers' sites; see _cors for why that is safe
@xframe_options_exempt  # shown inside an iframe on customers' sites
@login_not_required
@require_http_methods(["GET", "POST", "OPTIONS"])
def form_endpoint(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    form = selectors.get_published_form(slug=slug[:64])
    if form is None:
        return _error(request, 404, "This form does not exist or is not published.")
    if request.method == "GET":
        html = render_form_html(
            request,
            form,
            page=request.GET.get("page", "")[:2000],
            referrer=request.GET.get("ref", "")[:2000],
            visitor_id=request.GET.get("vid", "")[:64],
        )
        return render(request, "capture/form_page.html", {"form": form, "form_html": html})

    if _over_address_rate(request):
        return _error(
            request, 429, "Too many submissions; please wait a minute and try again.", form
        )
    try:
        data = _parse_body(request)
    except RequestDataTooBig:
        return _error(
            request, 413, f"The submission is larger than {MAX_BODY_BYTES // 1024} KB.", form
        )
    except ValueError as exc:
        return _error(request, 400, str(exc), form)

    fields = list(form.fields.all())
    checked = check_submission(form, data, fields)
    context = _context(request, data)
    ip, agent = _client_ip(request), request.headers.get("User-Agent", "")
    spam = protection.spam_reason(data, min_fill_seconds=form.min_fill_seconds)
    if spam:
        checked.errors["__spam__"] = spam
        services.keep_submission(
            form=form,
            checked=checked,
            status=SubmissionStatus.SPAM,
            context=context,
            ip_address=ip,
            user_agent=agent,
        )
        # A bot learns nothing from the answer: it looks like any success.
        return _thank_you(request, form)
    if not checked.ok:
        if _wants_json(request):
            return _cors(JsonResponse({"ok": False, "errors": checked.errors}, status=422))
        html = render_form_html(
            request,
            form,
            values=checked.values,
            errors=checked.errors,
            page=context["page"],
            referrer=context["referrer"],
        )
        return render(
            request, "capture/form_page.html", {"form": form, "form_html": html}, status=422
        )
    if form.event_id is not None and webinars.seats_left(form.event) == 0:
        return _error(request, 409, f"Sorry, {form.event.name} is full.", form)
    if form.double_opt_in:
        # Nothing is subscribed, and no contact made, until the address's owner confirms.
        submission = services.keep_submission(
            form=form,
            checked=checked,
            status=SubmissionStatus.AWAITING_CONFIRMATION,
            context=context,
            ip_address=ip,
            user_agent=agent,
        )
        transaction.on_commit(
            lambda: tasks.send_confirmation_email.enqueue(submission_id=submission.pk)
        )
        return _thank_you(request, form, confirm=True)
    submission = services.keep_submission(
        form=form,
        checked=checked,
        status=SubmissionStatus.RECEIVED,
        context=context,
        ip_address=ip,
        user_agent=agent,
    )
    if _over_form_rate(request, form.slug):
        # A burst on this form from many addresses: every submission that passed the
        # checks is kept, and processed by the worker, so no person's is lost to the flood.
        transaction.on_commit(lambda: tasks.retry_submission.enqueue(submission_id=submission.pk))
        return _thank_you(request, form)
    submission = services.process_or_keep_for_retry(submission=submission)
    return _thank_you(request, form, download=_download_url(form, submission))


def _download_url(form: Form, submission) -> str:
    """The lead magnet's link for the thank-you page, once the submission made a contact."""
    if form.lead_magnet is None or submission.contact_id is None:
        return ""
    return magnets.download_url(form=form, magnet=form.lead_magnet, contact=submission.contact)


CONFIRM_MESSAGE = "Almost done: we sent you an email. Click the link in it to confirm."


def _thank_you(
    request: HttpRequest, form: Form, *, confirm: bool = False, download: str = ""
) -> HttpResponse:
    message = form.thank_you_message
    if confirm:
        message = f"{message}\n\n{CONFIRM_MESSAGE}"
    if _wants_json(request):
        return _cors(
            JsonResponse(
                {
                    "ok": True,
                    "message": message,
                    "redirect": form.redirect_url or None,
                    "confirmation_required": confirm,
                    "download_url": download or None,
                }
            )
        )
    if form.redirect_url:
        response = HttpResponse(status=303)
        response["Location"] = form.redirect_url
        return _cors(response)
    return _cors(
        render(
            request,
            "capture/message.html",
            {"form": form, "message": message, "success": True, "download": download},
        )
    )


@login_not_required
@require_GET
def form_embed_js(request: HttpRequest, slug: str) -> HttpResponse:
    """`<script src=".../f/<slug>/embed.js"></script>` puts the form where the tag stands,
    in an iframe that carries the host page's address and referrer for attribution."""
    form = selectors.get_published_form(slug=slug[:64])
    if form is None:
        return HttpResponse(
            "/* Leadflow: this form does not exist or is not published. */",
            content_type="text/javascript",
            status=404,
        )
    src = request.build_absolute_uri(reverse("capture:form", args=[form.slug]))
    script = render_to_string("capture/embed.js", {"src": src, "slug": form.slug})
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return _cors(response)


@xframe_options_exempt
@login_not_required
@require_GET
def landing_page(request: HttpRequest, slug: str) -> HttpResponse:
    page = selectors.get_published_page(slug=slug[:64])
    if page is None:
        return render(request, "capture/not_found.html", status=404)
    form_html = ""
    if page.form is not None and page.form.is_published:
        form_html = render_form_html(
            request,
            page.form,
            page=request.build_absolute_uri(),
            referrer=request.headers.get("Referer", "")[:2000],
        )
    return render(
        request,
        "capture/landing_page.html",
        {"page": page, "blocks": page.blocks or [], "form_html": form_html},
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def confirm_subscription(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """The link in a double opt-in email. GET only asks; the button POSTs. Mail scanners
    that open every link must not subscribe people on their behalf."""
    try:
        submission = services.find_submission_to_confirm(token=token[:500])
    except services.ConfirmationInvalid as exc:
        return render(request, "capture/message.html", {"message": str(exc)}, status=400)
    form = submission.form
    if request.method == "GET" and submission.confirmed_at is None:
        return render(request, "capture/confirm.html", {"form": form})
    if submission.confirmed_at is None:
        submission = services.confirm_submission(
            submission=submission, ip_address=_client_ip(request)
        )
    return render(
        request,
        "capture/message.html",
        {
            "form": form,
            "success": True,
            "message": "Thank you, your subscription is confirmed.",
            "download": _download_url(form, submission),
        },
    )


# A 1x1 transparent GIF: the pixel fallback for pages without JavaScript.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@csrf_exempt  # beacons from customers' sites carry no cookies of ours
@login_not_required
@require_http_methods(["GET", "POST", "OPTIONS"])
def collect(request: HttpRequest) -> HttpResponse:
    """/t/collect: one page view or custom event. POST a JSON object (the script uses
    sendBeacon); GET with the same keys as query parameters answers with a pixel."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    ip = _client_ip(request)
    pixel = request.method == "GET"
    if tracking.over_rate(ip):
        return _cors(JsonResponse({"ok": False, "error": "too many events"}, status=429))
    try:
        if pixel:
            payload = {key: request.GET.get(key) for key in request.GET}
        else:
            length = request.META.get("CONTENT_LENGTH") or "0"
            if length.isdigit() and int(length) > settings.TRACKING_MAX_BODY_BYTES:
                raise tracking.EventTooLarge("the event is too large")
            payload = tracking.parse_body(request.body)
        tracking.accept_event(
            payload, ip_address=ip, user_agent=request.headers.get("User-Agent", "")
        )
    except (tracking.EventTooLarge, RequestDataTooBig):
        return _cors(JsonResponse({"ok": False, "error": "the event is too large"}, status=413))
    except tracking.BadEvent as exc:
        return _cors(JsonResponse({"ok": False, "error": str(exc)}, status=400))
    if pixel:
        response = HttpResponse(PIXEL, content_type="image/gif")
        response["Cache-Control"] = "no-store"
        return _cors(response)
    return _cors(HttpResponse(status=204))


@login_not_required
@require_GET
def tracking_script(request: HttpRequest) -> HttpResponse:
    """/t/lf.js: the snippet customers paste on their sites."""
    endpoint = request.build_absolute_uri(reverse("capture:collect"))
    identify_endpoint = request.build_absolute_uri(reverse("capture:identify"))
    script = render_to_string(
        "capture/lf.js", {"endpoint": endpoint, "identify": identify_endpoint}
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return _cors(response)


@login_not_required
@require_GET
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    """/e/c/<token>: a tracked link from an email. Records the click, then forwards."""
    try:
        destination = email_links.follow_click(token[:2000])
    except email_links.LinkInvalid as exc:
        return render(request, "capture/message.html", {"message": str(exc)}, status=400)
    response = HttpResponse(status=302)
    response["Location"] = destination
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt  # called by the tracking script from customers' sites, without cookies
@login_not_required
@require_http_methods(["POST", "OPTIONS"])
def identify(request: HttpRequest) -> HttpResponse:
    """/t/identify: the tracking script trades the identity token an email click put in the
    page's address for "this visitor is that contact"."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if tracking.over_rate(_client_ip(request)):
        return _cors(JsonResponse({"ok": False, "error": "too many events"}, status=429))
    try:
        payload = tracking.parse_body(request.body)
        visitor_id = payload.get("vid")
        if not isinstance(visitor_id, str) or not tracking.VISITOR_ID.match(visitor_id):
            raise tracking.BadEvent("vid: a visitor id of 8-64 letters, digits, - or _")
        contact = email_links.contact_of_identity(str(payload.get("token", ""))[:500])
    except (tracking.BadEvent, email_links.LinkInvalid) as exc:
        return _cors(JsonResponse({"ok": False, "error": str(exc)}, status=400))
    services.identify_visitor(visitor_id=visitor_id, contact=contact, by="email-click")
    return _cors(HttpResponse(status=204))
