"""Interrupted time series on one cutoff or a few: the comparison model of the study (``model``,
``series``, ``censoring``, ``controls``) and the general tool behind ``exodus fit`` (``frequency``,
``terms``, ``multigroup``)."""
