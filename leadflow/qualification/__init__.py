"""Qualification: segments, personas, scoring, lifecycle rules, routing, SLAs."""
