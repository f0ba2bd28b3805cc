"""models/downloads."""
