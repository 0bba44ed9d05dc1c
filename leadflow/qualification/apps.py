from django.apps import AppConfig


class QualificationConfig(AppConfig):
    name = "leadflow.qualification"
    label = "qualification"
    verbose_name = "Qualification"
