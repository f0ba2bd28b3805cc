"""models/checks."""
