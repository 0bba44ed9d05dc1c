from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "leadflow.insights"
    label = "insights"
    verbose_name = "Insights"
