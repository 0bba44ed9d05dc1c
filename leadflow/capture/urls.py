"""Public URLs (PRODUCT.md: they never move). Management pages come with the capture UI."""

from django.urls import path

from leadflow.capture import inbound_endpoint, public, public_assets

app_name = "capture"
urlpatterns = [
    path("f/<str:slug>", public.form_endpoint, name="form"),
    path("f/<str:slug>/embed.js", public.form_embed_js, name="form_embed"),
    path("f/<str:slug>/confirm/<str:token>", public.confirm_subscription, name="confirm"),
    path("f/<str:slug>/asset/<str:token>", public_assets.download_asset, name="asset"),
    path("p/<str:slug>", public.landing_page, name="landing_page"),
    path("t/lf.js", public.tracking_script, name="tracking_script"),
    path("t/collect", public.collect, name="collect"),
    path("in/<str:slug>", inbound_endpoint.receive, name="inbound"),
]
