"""data/studies."""
