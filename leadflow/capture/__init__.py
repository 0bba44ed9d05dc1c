"""Lead generation: forms, landing pages, lead magnets, tracking, consent (issue: generation)."""
