"""Public URLs (PRODUCT.md: they never move), then the management screens under /capture/."""

from django.urls import path

from leadflow.capture import inbound_endpoint, public, public_assets, views

app_name = "capture"
urlpatterns = [
    path("f/<str:slug>", public.form_endpoint, name="form"),
    path("f/<str:slug>/embed.js", public.form_embed_js, name="form_embed"),
    path("f/<str:slug>/confirm/<str:token>", public.confirm_subscription, name="confirm"),
    path("f/<str:slug>/asset/<str:token>", public_assets.download_asset, name="asset"),
    path("p/<str:slug>", public.landing_page, name="landing_page"),
    path("t/lf.js", public.tracking_script, name="tracking_script"),
    path("t/collect", public.collect, name="collect"),
    path("t/identify", public.identify, name="identify"),
    path("e/c/<str:token>", public.email_click, name="email_click"),
    path("in/<str:slug>", inbound_endpoint.receive, name="inbound"),
    # Management screens (login required; roles checked in views.py).
    path("capture/", views.index, name="index"),
    path("capture/forms/new/", views.form_create, name="form_create"),
    path("capture/forms/<int:form_id>/", views.form_detail, name="form_detail"),
    path("capture/forms/<int:form_id>/edit/", views.form_edit, name="form_edit"),
    path("capture/forms/<int:form_id>/delete/", views.form_delete, name="form_delete"),
    path("capture/pages/", views.page_list, name="pages"),
    path("capture/pages/new/", views.page_create, name="page_create"),
    path("capture/pages/<int:page_id>/", views.page_edit, name="page_edit"),
    path("capture/pages/<int:page_id>/preview/", views.page_preview, name="page_preview"),
    path("capture/pages/<int:page_id>/delete/", views.page_delete, name="page_delete"),
    path("capture/magnets/", views.magnet_list, name="magnets"),
    path("capture/magnets/new/", views.magnet_create, name="magnet_create"),
    path("capture/magnets/<int:magnet_id>/", views.magnet_edit, name="magnet_edit"),
    path("capture/events/", views.event_list, name="events"),
    path("capture/events/new/", views.event_create, name="event_create"),
    path("capture/events/<int:event_id>/", views.event_detail, name="event_detail"),
    path("capture/events/<int:event_id>/edit/", views.event_edit, name="event_edit"),
    path(
        "capture/events/<int:event_id>/attendance/",
        views.event_attendance,
        name="event_attendance",
    ),
    path("capture/integrations/", views.integrations, name="integrations"),
    path("capture/integrations/sources/new/", views.source_create, name="source_create"),
    path(
        "capture/integrations/sources/<int:source_id>/",
        views.source_detail,
        name="source_detail",
    ),
    path("capture/integrations/webhooks/new/", views.webhook_create, name="webhook_create"),
    path(
        "capture/integrations/webhooks/<int:endpoint_id>/",
        views.webhook_detail,
        name="webhook_detail",
    ),
    path(
        "capture/integrations/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
    path("capture/channel-rules/", views.channel_rules, name="channel_rules"),
    path(
        "capture/channel-rules/<int:rule_id>/delete/",
        views.channel_rule_delete,
        name="channel_rule_delete",
    ),
]
