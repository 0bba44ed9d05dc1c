from django.urls import path

from leadflow.contacts import views

app_name = "contacts"
urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="detail"),
]
