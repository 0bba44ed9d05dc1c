"""Screens under /imports/ (views/imports.py) and /duplicates/ (views/duplicates.py)."""

from leadflow.acquisition.views import duplicates, imports

app_name = "acquisition"
urlpatterns = [*imports.urlpatterns, *duplicates.urlpatterns]
