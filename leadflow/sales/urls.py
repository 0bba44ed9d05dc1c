from django.urls import path

from leadflow.sales import views

app_name = "sales"
urlpatterns = [
    path("deals/", views.deal_list, name="deals"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/<int:deal_id>/edit/", views.deal_edit, name="deal_edit"),
]
