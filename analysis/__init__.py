"""Exodus: did users migrate to Signal, Telegram and alt-tech apps after the January 2021
deplatformings?  An interrupted time-series study of app-store chart ranks.

The package holds all logic; notebooks only set parameters, call it and display results.
Modules, in the direction data flows:

- ``analysis.data``     load, validate and generate data (demo panel, events, studies, series selection)
- ``analysis.data.transform`` select series and windows, transform ranks
- ``analysis.models``   interrupted time-series models
- ``analysis.figures``  altair figures
- ``analysis.report``   saving figures/tables from notebooks; ``analysis.report.run`` runs studies
"""

__version__ = "0.1.0"
