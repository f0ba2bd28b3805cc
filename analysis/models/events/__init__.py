"""models/events."""
