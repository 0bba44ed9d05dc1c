from django.apps import AppConfig


class AcquisitionConfig(AppConfig):
    name = "leadflow.acquisition"
    label = "acquisition"
    verbose_name = "Acquisition"
