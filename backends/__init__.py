"""Real backends validated against the model (the validation issue fills this in)."""
