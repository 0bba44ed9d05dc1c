"""Nurture: templates, broadcasts, sequences, follow-ups, sending, A/B tests."""
