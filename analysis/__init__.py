"""Exodus: did users migrate to Signal, Telegram and the alt-tech apps after the January 2021
deplatformings, and by how much, net of the WhatsApp privacy shock?  Interrupted time-series
studies of app-store chart ranks and Wikipedia pageviews.

The package holds all logic; notebooks only set parameters, call it and display results.
Subpackages, in the direction data flows:

- ``analysis.data``     load and validate: sources (archive, pageviews, top-100), demo, studies, events
- ``analysis.models``   engine (batched estimators), events (the per-event design of the answer),
                        its (the single-cutoff comparison model), checks, downloads
- ``analysis.figures``  altair figures
- ``analysis.report``   answer, page, run (plan, runner, verify)
- ``analysis.cli``      the ``exodus`` command line
- ``analysis.config``   paths and every ``EXODUS_*`` environment variable

The curated public API below is what a script or notebook needs; each name is imported on first
use (PEP 562), so ``import analysis`` stays cheap for every kernel and command.

Data: :func:`load_study`, :class:`StudyData`, :func:`load_events`, :func:`event_groups`,
:func:`generate_demo` (SYNTHETIC).  Parameters: :class:`StudyParams`.  The answer's model:
:func:`build_event_design`, :func:`fit_events`, :func:`fit_study`.  The comparison model:
:class:`ITSSpec`, :func:`fit_its`.  Runs: :func:`build_plan`, :class:`RunPlan`, :func:`run`,
:func:`verify_version`.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_API: dict[str, str] = {
    "load_study": "analysis.data.studies.registry",
    "StudyData": "analysis.data.studies.registry",
    "load_events": "analysis.data.events",
    "event_groups": "analysis.data.events",
    "generate_demo": "analysis.data.demo.world",
    "StudyParams": "analysis.params",
    "build_event_design": "analysis.models.events.design",
    "fit_events": "analysis.models.events.fit",
    "fit_study": "analysis.models.events.estimates",
    "ITSSpec": "analysis.models.its.model",
    "fit_its": "analysis.models.its.model",
    "build_plan": "analysis.report.run.plan",
    "RunPlan": "analysis.report.run.plan",
    "run": "analysis.report.run.runner",
    "verify_version": "analysis.report.run.verify",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
