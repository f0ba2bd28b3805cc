"""Exodus: did users migrate to Signal, Telegram and alt-tech apps after the January 2021
deplatformings?  An interrupted time-series study of app-store chart ranks.

The package holds all logic; notebooks only set parameters, call it and display results.
Modules, in the direction data flows:

- ``analysis.data``     load, validate and generate data (demo panel, events, studies, series selection)
- ``analysis.models``   interrupted time-series models
- ``analysis.figures``  altair figures
- ``analysis.report``   run studies (``report.run``), save outputs, build the offline HTML pages
- ``analysis.cli``      the ``exodus`` command line
- ``analysis.config``   paths and every ``EXODUS_*`` environment variable
"""

__version__ = "0.1.0"
