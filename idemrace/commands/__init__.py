"""One module per CLI command (see ``idemrace.cli``)."""
