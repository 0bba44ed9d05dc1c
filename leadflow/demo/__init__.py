"""The demo workspace: a seeded, realistic company so every screen has something to show.

It stands above the funnel apps (it may use any of them) and nothing imports it.
"""
