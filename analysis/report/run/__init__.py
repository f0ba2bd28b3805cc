"""report/run."""
