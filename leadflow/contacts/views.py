from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from leadflow.contacts import selectors


def contact_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("contacts")


def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(selectors.list_visible_contacts(user=request.user), pk=contact_id)
    return HttpResponse(str(contact))
