"""Analyses computed over many searches (the comparison matrix). Computes; never renders."""
