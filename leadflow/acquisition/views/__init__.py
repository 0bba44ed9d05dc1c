"""The acquisition screens: imports (imports.py) and the duplicates review queue (duplicates.py).

Each module ends with its own `urlpatterns`, which `acquisition/urls.py` puts together.
"""
