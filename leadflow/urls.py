from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from leadflow.accounts import views as account_views
from leadflow.api import api
from leadflow.health import healthz

admin.site.site_header = "Leadflow administration"
admin.site.site_title = "Leadflow admin"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="contacts:list", permanent=False), name="home"),
    path("healthz", healthz, name="healthz"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", account_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("leadflow.contacts.urls")),
    path("", include("leadflow.sales.urls")),
    path("", include("leadflow.capture.urls")),
    path("", include("leadflow.acquisition.urls")),
]
