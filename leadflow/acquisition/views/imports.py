"""Imports: upload, mapping review, progress, report, rejects download, undo."""

urlpatterns: list = []
