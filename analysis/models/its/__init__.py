"""models/its."""
