"""Measurement: metrics, attribution, dashboards, reports. Reads everything; nothing imports it."""
