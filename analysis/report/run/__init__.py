"""A run: pre-flight checks, the frozen run plan, notebook execution, publishing an immutable
version, and verification of published versions."""
