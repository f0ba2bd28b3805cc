"""The run plan: everything a run's notebooks share, built once by the runner and frozen.

Before the notebooks start, the runner builds one :class:`RunPlan` from the checked parameters
and the study the pre-flight loaded: the study's data (panel, events, the demo's truth frames),
the declared comparison model, the selected series, the per-event fit of the answer
(:func:`analysis.models.events.estimates.fit_study`) and the single-cutoff comparison fit
(:func:`analysis.models.its.series.fit_panel`), which more than one notebook reads.  It is
written as one artifact of the version, ``artifacts/plan/`` (``plan.json``, which names every
part with its SHA-256, and one parquet file per frame), and each notebook's
:func:`analysis.report.run.setup.setup` reads it.  So the study is loaded once per run and
every fit that two notebooks use is computed once (the luca pattern: expensive steps run once
and pass artifacts on).

A plan belongs to one set of parameters: ``plan.json`` records them all and their key (SHA-256
of their canonical JSON, ``output_dir`` excluded).  A notebook declares only the parameters it
uses, so :func:`read_plan` takes the plan's full set and refuses a plan whose values differ from
any value the notebook was given.  A notebook opened interactively, with no plan beside it, builds
its own (:func:`build_plan`), exactly as the runner would.

The demo's simulated world (2,500 background apps per chart, about 100 MB in memory) is not
part of the plan: every truth the notebooks compare against is computed from it by the runner,
inside the fits, before the plan is written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.data.demo.world import DemoData
from analysis.data.studies.base import StudyData
from analysis.data.transform import select_series
from analysis.models.events.estimates import FRAMES as _FIT_FRAMES
from analysis.models.events.estimates import StudyFit, fit_study, run_spec
from analysis.models.its.model import ITSSpec
from analysis.models.its.series import PanelFit, fit_panel
from analysis.params import StudyParams

PLAN_DIR = ("artifacts", "plan")
FORMAT = 1
_DATA_FRAMES = ("panel", "events", "views")
_TRUTH_FRAMES = ("panel", "effects", "series", "latent", "truth", "event_truth", "schedule")
_COMPARISON_FRAMES = ("effects", "paths", "diagnostics", "skipped")


@dataclass(frozen=True)
class RunPlan:
    """What every notebook of a run starts from (see the module docstring)."""

    params: StudyParams
    data: StudyData
    spec: ITSSpec
    series: pl.DataFrame
    study_fit: StudyFit | None
    comparison_fit: PanelFit | None
    errors: dict[str, str] = dataclasses.field(default_factory=dict)  # fit name -> why it failed

    @property
    def study(self) -> StudyFit:
        """The per-event fit of the answer; raises, naming the runner's error, if it failed."""
        return self._fit("study", self.study_fit)

    @property
    def comparison(self) -> PanelFit:
        """The single-cutoff comparison fit; raises, naming the runner's error, if it failed."""
        return self._fit("comparison", self.comparison_fit)

    def _fit(self, name: str, value):
        if value is None:
            raise RuntimeError(f"the {name} fit of this run failed when the plan was built: {self.errors.get(name)}")
        return value


def params_key(params: StudyParams) -> str:
    """SHA-256 of the canonical JSON of the parameters (``output_dir`` excluded): a plan's identity."""
    values = {k: v for k, v in params.as_dict().items() if k != "output_dir"}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def model_spec(params: StudyParams, chart_depth: int) -> ITSSpec:
    """The declared comparison model of a run (the same object the pre-flight validated)."""
    return ITSSpec(params.intervention, params.pre_days, params.post_days, transform=params.transform,
                   alpha=params.alpha, errors=params.errors, impact=params.impact,
                   seasonality=params.seasonality, censored=params.censored, chart_depth=chart_depth)


def build_plan(params: StudyParams, data: StudyData) -> RunPlan:
    """Fit what the notebooks share, once: the per-event study fit and the comparison fit."""
    spec = model_spec(params, data.chart_depth)
    series = select_series(data.panel, params.apps, params.countries, params.store, params.chart)
    errors: dict[str, str] = {}
    study = _attempt(errors, "study", lambda: fit_study(data, params, run_spec(data, params)))
    comparison = _attempt(errors, "comparison", lambda: fit_panel(series, spec))
    return RunPlan(params, _without_world(data), spec, series, study, comparison, errors)


def _attempt(errors: dict[str, str], name: str, fit):
    """Run ``fit``; on failure record why under ``name`` (the notebook that reads it fails at its
    cell, naming this error) instead of failing the whole run before any notebook."""
    try:
        return fit()
    except OSError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported by the notebook that needs the fit
        errors[name] = f"{type(exc).__name__}: {exc}"
        return None


def _without_world(data: StudyData) -> StudyData:
    if data.truth is None or data.truth.world is None:
        return data
    return dataclasses.replace(data, truth=dataclasses.replace(data.truth, world=None))


def plan_dir(output_dir: str | Path) -> Path:
    return Path(output_dir).joinpath(*PLAN_DIR)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_plan(plan: RunPlan, output_dir: str | Path) -> Path:
    """Write ``plan`` under ``<output_dir>/artifacts/plan/``; returns that directory.

    Frames go to parquet (``data-*``, ``truth-*``, ``study-*``, ``comparison-*``); ``plan.json``
    holds the parameters and their key, the study's scalar fields, and every part's SHA-256.
    """
    where = plan_dir(output_dir)
    where.mkdir(parents=True, exist_ok=True)
    parts: dict[str, pl.DataFrame] = {}
    for name in _DATA_FRAMES:
        if getattr(plan.data, name) is not None:
            parts[f"data-{name}"] = getattr(plan.data, name)
    if plan.data.truth is not None:
        parts.update({f"truth-{n}": getattr(plan.data.truth, n) for n in _TRUTH_FRAMES})
    if plan.study_fit is not None:
        parts.update({f"study-{n}": getattr(plan.study_fit, n) for n in _FIT_FRAMES
                      if getattr(plan.study_fit, n) is not None})
    if plan.comparison_fit is not None:
        parts.update({f"comparison-{n}": getattr(plan.comparison_fit, n) for n in _COMPARISON_FRAMES})
    parts["series"] = plan.series
    hashes = {}
    for name, frame in parts.items():
        frame.write_parquet(where / f"{name}.parquet")
        hashes[name] = _sha256(where / f"{name}.parquet")
    meta = {
        "format": FORMAT, "params_key": params_key(plan.params), "params": plan.params.as_dict(),
        "study": {"name": plan.data.name, "title": plan.data.title, "synthetic": plan.data.synthetic,
                  "chart_depth": plan.data.chart_depth, "outcome": plan.data.outcome, "sources": plan.data.sources,
                  "notes": plan.data.notes, "inputs": sorted(plan.data.inputs),
                  "truth_seed": plan.data.truth.seed if plan.data.truth is not None else None},
        "study_fit": {"spec": repr(plan.study_fit.spec) if plan.study_fit is not None else None},
        "errors": plan.errors,
        "parts": hashes,
    }
    # plan.json last and atomically: a reader that sees it sees every part.
    tmp = where / "plan.json.tmp"
    tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    tmp.replace(where / "plan.json")
    return where


FAILED = "FAILED"


def write_failure(output_dir: str | Path, error: str) -> None:
    """Mark the plan of ``output_dir`` as failed (the kernels waiting for it stop with ``error``)."""
    where = plan_dir(output_dir)
    where.mkdir(parents=True, exist_ok=True)
    (where / FAILED).write_text(error + "\n")


def wait_for_plan(output_dir: str | Path, timeout_s: float = 600.0, poll_s: float = 0.05) -> None:
    """Block until the runner has written the plan of ``output_dir`` (kernels start while it is
    built, so their imports overlap the fits); RuntimeError if the runner marked it failed or it
    did not appear within ``timeout_s``."""
    import time

    where = plan_dir(output_dir)
    deadline = time.monotonic() + timeout_s
    while not (where / "plan.json").exists():
        if (where / FAILED).exists():
            raise RuntimeError(f"the run plan could not be built: {(where / FAILED).read_text().strip()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no run plan appeared in {where} within {timeout_s:.0f}s")
        time.sleep(poll_s)


class PlanMismatch(ValueError):
    """A plan on disk belongs to other parameters, or one of its parts changed."""


def read_plan(output_dir: str | Path, given: Mapping[str, object] | None = None) -> RunPlan:
    """Read the plan under ``output_dir``; its parameters are the run's.

    ``given`` holds the parameter values a notebook received (papermill's injection):
    :class:`PlanMismatch` when any differs from the plan's, or when a part's SHA-256 no longer
    matches ``plan.json``; FileNotFoundError when there is no plan.
    """
    where = plan_dir(output_dir)
    meta = json.loads((where / "plan.json").read_text())
    if meta.get("format") != FORMAT:
        raise PlanMismatch(f"{where / 'plan.json'}: plan format {meta.get('format')!r}, expected {FORMAT}")
    values = dict(meta["params"], output_dir=str(output_dir))
    params = StudyParams(**values)
    if params_key(params) != meta.get("params_key"):
        raise PlanMismatch(f"{where / 'plan.json'}: its parameters do not match its params_key")
    plain = params.as_dict()
    for name, value in (given or {}).items():
        if name != "output_dir" and name in plain and json.dumps(plain[name], default=str) != json.dumps(value, default=str):
            raise PlanMismatch(f"{where / 'plan.json'} was built with {name}={plain[name]!r}, "
                               f"but this notebook was given {name}={value!r}")
    frames = {}
    for name, digest in meta["parts"].items():
        path = where / f"{name}.parquet"
        if _sha256(path) != digest:
            raise PlanMismatch(f"{path}: SHA-256 differs from plan.json")
        frames[name] = pl.read_parquet(path)
    s = meta["study"]
    truth = None
    if "truth-panel" in frames:
        truth = DemoData(**{n: frames[f"truth-{n}"] for n in _TRUTH_FRAMES}, seed=s["truth_seed"], world=None)
    data = StudyData(s["name"], s["title"], s["synthetic"], frames["data-panel"], frames["data-events"],
                     s["chart_depth"], truth=truth, sources=s["sources"], views=frames.get("data-views"),
                     notes=s["notes"], outcome=s["outcome"])
    errors = meta.get("errors", {})
    study = None if "study" in errors else StudyFit(run_spec(data, params),
                                                    **{n: frames.get(f"study-{n}") for n in _FIT_FRAMES})
    comparison = None if "comparison" in errors else PanelFit(**{n: frames[f"comparison-{n}"]
                                                                 for n in _COMPARISON_FRAMES})
    return RunPlan(params, data, model_spec(params, data.chart_depth), frames["series"], study, comparison, errors)
