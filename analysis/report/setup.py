"""A notebook's setup in one call: typed parameters, the study, the model, the selection, the writer.

Each notebook's first code cell after ``parameters`` is ``ctx = setup(NOTEBOOK, globals())``:
the parameter variables papermill injected (or the cell's defaults, interactively) become a
:class:`~analysis.params.StudyParams`, checked as ``exodus run`` checks them, and the study is
loaded exactly as the pre-flight loaded it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
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
    """Typed parameters from ``namespace`` (written back into it: ``-p countries '["us","in"]'``
    given to papermill becomes a list there too), the study's data, the model, the selected series and
    the output writer of ``notebook``; shows the display set-up and the data banner."""
    from analysis.data.transform import select_series
    from analysis.params import from_namespace
    from analysis.report import display
    from analysis.report.outputs import banner

    params = from_namespace(dict(namespace))
    params.check()
    if isinstance(namespace, MutableMapping):  # the notebook's own variables get the typed values too
        namespace.update({k: v for k, v in params.as_dict().items() if k in namespace})
    display.setup()
    data = load_study(params.study, seed=params.seed, daily_rule=params.daily_rule, panel_file=params.panel_file,
                      events_file=params.events_file, default_depth=params.default_depth,
                      event_shift=params.event_shift, add_event=params.add_event)
    series = select_series(data.panel, params.apps, params.countries, params.store, params.chart)
    out = Outputs(params.output_dir, notebook)
    banner(data.synthetic, data.title)
    return NotebookContext(params, data, model_spec(params, data.chart_depth), series, out)
