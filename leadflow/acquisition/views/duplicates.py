"""The duplicates review queue: pairs the matcher was unsure of, merged or dismissed by a person."""

urlpatterns: list = []
