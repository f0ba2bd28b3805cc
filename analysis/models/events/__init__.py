"""The per-event design that gives the answer: one term per registry event (``design``), fitted
with AR(1) errors and censoring (``fit``), entry bounds (``bounds``), window averages (``window``),
contrast and pooling across countries, and the study's fit (``estimates``)."""
