"""/f/<slug>/asset/<token>: the signed, expiring link that hands over a lead magnet and
records the download on the contact's timeline."""

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leadflow.capture import magnets


@login_not_required
@require_GET
def download_asset(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    try:
        magnet, contact = magnets.open_link(token[:2000])
    except magnets.LinkInvalid as exc:
        return render(request, "capture/message.html", {"message": str(exc)}, status=400)
    magnets.record_download(magnet=magnet, contact=contact, form_slug=slug[:64])
    if magnet.file:
        return FileResponse(
            magnet.file.open("rb"), as_attachment=True, filename=magnet.file.name.rsplit("/", 1)[-1]
        )
    if magnet.url:
        return HttpResponseRedirect(magnet.url)
    return render(
        request,
        "capture/message.html",
        {"message": "This download is no longer available."},
        status=404,
    )
