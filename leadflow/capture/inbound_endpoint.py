"""/in/<slug>: the inbound webhook other tools push leads to (see capture/inbound.py)."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from leadflow.capture import inbound
from leadflow.capture.models import InboundSource, SubmissionStatus
from leadflow.contacts.normalise import storable_json

MAX_BODY_BYTES = 256 * 1024


def _presented_secret(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("X-Leadflow-Secret", "").strip()


@csrf_exempt  # machine-to-machine; authenticated by the source's secret, not a session
@login_not_required
@require_POST
def receive(request: HttpRequest, slug: str) -> JsonResponse:
    if is_ratelimited(
        request,
        group=f"inbound-{slug[:64]}",
        key=lambda g, r: slug[:64],
        rate=settings.INBOUND_RATE_PER_SOURCE,
        increment=True,
    ):
        return JsonResponse({"ok": False, "error": "Too many leads; slow down."}, status=429)
    source = InboundSource.objects.filter(slug=slug[:64], is_active=True).first()
    # The same answer for an unknown source and a wrong secret: no probing for names.
    if source is None or not inbound.secret_matches(source, _presented_secret(request)):
        return JsonResponse({"ok": False, "error": "Unknown source or wrong secret."}, status=401)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if (length.isdigit() and int(length) > MAX_BODY_BYTES) or len(request.body) > MAX_BODY_BYTES:
        return JsonResponse({"ok": False, "error": "The lead is larger than 256 KB."}, status=413)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"ok": False, "error": "Send one JSON object in UTF-8."}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"ok": False, "error": "Send one JSON object."}, status=400)
    try:
        # JSON may carry NUL or lone surrogates, which no database column can keep.
        lead, is_new = inbound.receive_lead(source=source, payload=storable_json(payload))
    except inbound.InboundRejected as exc:
        return JsonResponse({"ok": False, "error": str(exc)}, status=422)
    if is_new:
        lead = inbound.process_or_keep_for_retry(lead=lead)
    body = {"ok": True, "lead_id": lead.external_id, "duplicate": not is_new, "status": lead.status}
    if lead.status == SubmissionStatus.INVALID:
        body["errors"] = lead.errors
    return JsonResponse(body, status=201 if is_new else 200)
