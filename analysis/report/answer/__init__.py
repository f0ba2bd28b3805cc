"""report/answer."""
