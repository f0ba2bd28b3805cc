"""Models: ``engine`` (batched estimators), ``events`` (the per-event design of the answer),
``its`` (the single-cutoff comparison model), ``checks`` (robustness), ``downloads``."""
