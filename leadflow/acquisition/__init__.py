"""Lead acquisition: imports of bought lists and history, cleaning, dedupe, merges."""
