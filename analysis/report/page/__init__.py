"""report/page."""
