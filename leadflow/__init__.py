"""Leadflow: a self-hosted lead-to-customer platform."""

__version__ = "0.1.0"
