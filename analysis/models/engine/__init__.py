"""models/engine."""
