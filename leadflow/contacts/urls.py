from django.urls import path

from leadflow.contacts import views

app_name = "contacts"
urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/export.csv", views.contact_export, name="export"),
    path("contacts/new/", views.contact_create, name="create"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_edit, name="edit"),
    path("contacts/<int:contact_id>/delete/", views.contact_delete, name="delete"),
    path("contacts/<int:contact_id>/stage/", views.contact_stage, name="stage"),
    path("contacts/<int:contact_id>/owner/", views.contact_owner, name="owner"),
    path("contacts/<int:contact_id>/notes/", views.contact_note, name="note"),
    path("contacts/<int:contact_id>/timeline/", views.contact_timeline, name="timeline"),
    path("companies/", views.company_list, name="companies"),
    path("companies/new/", views.company_create, name="company_create"),
    path("companies/<int:company_id>/", views.company_detail, name="company"),
    path("companies/<int:company_id>/edit/", views.company_edit, name="company_edit"),
    path("search/", views.search, name="search"),
]
