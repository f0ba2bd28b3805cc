"""The offline HTML pages of a version and of the index, and what notebooks display and save
(``outputs``: tables and figures with their files; ``display``: inline Vega; ``safejson``)."""
