"""Reports: run the notebooks (``run``), save their outputs (``outputs``), display inline
(``display``) and build the offline HTML pages (``html``)."""
