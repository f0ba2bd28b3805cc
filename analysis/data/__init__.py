"""Data: the rank-panel schema and its validation, the synthetic demo, and events."""
