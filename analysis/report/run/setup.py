"""A notebook's setup in one call: typed parameters, the run plan, the writer.

Each notebook's first code cell after ``parameters`` is ``ctx = setup(NOTEBOOK, globals())``:
the parameter variables papermill injected (or the cell's defaults, interactively) become a
:class:`~analysis.params.StudyParams`, checked as ``exodus run`` checks them, and the run plan
the runner froze before the notebooks started (:mod:`analysis.report.run.plan`) is read from
``output_dir``.  The study is never reloaded and no shared fit is refitted in a kernel.  Opened
interactively, with no plan beside it, a notebook builds the plan itself (and writes it when
``output_dir`` is set), exactly as the runner would.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

import polars as pl

from analysis.config import in_report_run
from analysis.data.studies.base import StudyData
from analysis.data.studies.registry import load_study
from analysis.models.events.estimates import StudyFit
from analysis.models.its.model import ITSSpec
from analysis.models.its.series import PanelFit
from analysis.params import StudyParams, from_namespace
from analysis.report.page import display
from analysis.report.page.outputs import Outputs, banner
from analysis.report.run.plan import RunPlan, build_plan, read_plan, wait_for_plan, write_plan


@dataclass
class NotebookContext:
    """What every notebook starts from: the plan's parts and this notebook's writer."""

    params: StudyParams
    plan: RunPlan
    out: Outputs

    @property
    def data(self) -> StudyData:
        return self.plan.data

    @property
    def spec(self) -> ITSSpec:
        return self.plan.spec

    @property
    def series(self) -> pl.DataFrame:
        return self.plan.series

    @property
    def study(self) -> StudyFit:
        return self.plan.study

    @property
    def comparison(self) -> PanelFit:
        return self.plan.comparison


def load_plan(params: StudyParams, given: Mapping[str, object]) -> RunPlan:
    """The runner's plan from ``params.output_dir`` (checked against the values the notebook was
    ``given``); built, and written there, when there is none, as in an interactive session."""
    if params.output_dir and in_report_run():
        wait_for_plan(params.output_dir)  # the runner builds it while the kernels start
    if params.output_dir:
        try:
            return read_plan(params.output_dir, given)
        except FileNotFoundError:
            pass
    data = load_study(params.study, seed=params.seed, daily_rule=params.daily_rule, panel_file=params.panel_file,
                      events_file=params.events_file, default_depth=params.default_depth,
                      event_shift=params.event_shift, add_event=params.add_event)
    plan = build_plan(params, data)
    if params.output_dir:
        write_plan(plan, params.output_dir)
    return plan


def setup(notebook: str, namespace: Mapping[str, object]) -> NotebookContext:
    """Typed parameters from ``namespace`` (text that ``papermill -p`` gave, such as
    ``countries '["us","in"]'``, is converted, and the typed values are written back into it),
    the run plan and the output writer of ``notebook``; shows the display set-up and the data banner."""
    params = from_namespace(dict(namespace))
    params.check()
    given = {k: v for k, v in params.as_dict().items() if k in namespace}
    display.setup()
    plan = load_plan(params, given)
    if isinstance(namespace, MutableMapping):  # the notebook's own variables get the plan's typed values
        namespace.update({k: v for k, v in plan.params.as_dict().items() if k in namespace and k != "output_dir"})
    out = Outputs(params.output_dir, notebook)
    banner(plan.data.synthetic, plan.data.title)
    return NotebookContext(plan.params, plan, out)
