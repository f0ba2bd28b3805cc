"""The SYNTHETIC demo: a seeded world of full charts (``chart``), known event effects (``effects``),
the panel (``world``) and its truth by re-ranking without events (``truth``)."""
