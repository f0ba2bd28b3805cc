"""Data, loaded and validated: third-party ``sources``, the SYNTHETIC ``demo``, the ``studies`` a
run can use, the event registry, the panel schema, censoring and series selection."""
