from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "leadflow.capture"
    label = "capture"
    verbose_name = "Capture"

    def ready(self) -> None:
        from leadflow.capture import receivers  # noqa: F401 - connects the event receivers
