"""A user's own engine model for idemrace (an example: see ../README.md)."""
