"""``exodus fit``: interrupted time series on any regular series of a CSV or parquet file
(``command``; options, checks, censored and multiple-group forms, figure)."""
