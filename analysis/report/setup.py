"""A notebook's setup in one call: typed parameters, the study, the model, the selection, the writer.

Each notebook's first code cell after ``parameters`` is ``ctx = setup(NOTEBOOK, globals())``:
the parameter variables papermill injected (or the cell's defaults, interactively) become a
:class:`~analysis.params.StudyParams`, checked as ``exodus run`` checks them, and the study is
loaded exactly as the pre-flight loaded it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from analysis.data.studies import StudyData, load_study
from analysis.models.its import ITSSpec
from analysis.params import StudyParams
from analysis.report.outputs import Outputs


@dataclass
class NotebookContext:
    """What every notebook starts from."""

    params: StudyParams
    data: StudyData
    spec: ITSSpec
    series: pl.DataFrame
    out: Outputs


def model_spec(params: StudyParams, chart_depth: int) -> ITSSpec:
    """The declared model of a run (the same object the pre-flight validated)."""
    return ITSSpec(params.intervention, params.pre_days, params.post_days, transform=params.transform,
                   alpha=params.alpha, errors=params.errors, impact=params.impact,
                   seasonality=params.seasonality, censored=params.censored, chart_depth=chart_depth)


def setup(notebook: str, namespace: Mapping[str, object]) -> NotebookContext:
    """Typed parameters from ``namespace``, the study's data, the model, the selected series and
    the output writer of ``notebook``; shows the display set-up and the data banner."""
    from analysis.data.transform import select_series
    from analysis.report import display
    from analysis.report.outputs import banner

    names = {f.name for f in dataclasses.fields(StudyParams)}
    params = StudyParams(**{k: v for k, v in namespace.items() if k in names})
    params.check()
    display.setup()
    data = load_study(params.study, seed=params.seed, daily_rule=params.daily_rule, panel_file=params.panel_file,
                      events_file=params.events_file, default_depth=params.default_depth,
                      event_shift=params.event_shift, add_event=params.add_event)
    series = select_series(data.panel, params.apps, params.countries, params.store, params.chart)
    out = Outputs(params.output_dir, notebook)
    banner(data.synthetic, data.title)
    return NotebookContext(params, data, model_spec(params, data.chart_depth), series, out)
