"""One pre-flight: every parameter and every file checked before any notebook runs.

:func:`preflight` turns ``exodus run``'s study and ``-p`` overrides into a validated
:class:`Preflight` (typed parameters, loaded study data, notes on adapted defaults) or raises an
:class:`~analysis.errors.InputError` (exit 2, nothing written).  In order:

1. parameters: names, types and data-free checks (:func:`analysis.params.resolve`);
2. files: every path parameter is resolved once against the caller's directory to an absolute
   path, and must be an existing regular file.  The notebooks receive these absolute paths, so
   the file hashed into the manifest is the file the notebooks analyse;
3. the study data, loaded and validated as the notebooks will load it, plus the optional
   reported-ranks and BigTech.fail files, whose bytes join the hashed inputs;
4. values against the data: the window inside the panel, the model specification, the
   selection, and the parameters that name data (``focus_app``, ``focus_country``,
   ``placebo_apps``).  Their *defaults* adapt to the selection (with a note); values the user
   gave that are not in the data or the selection stop the run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from analysis.data.studies.base import StudyData
from analysis.data.studies.registry import load_study
from analysis.errors import InputError, ParameterError
from analysis.params import PATH_PARAMS, StudyParams, resolve
from analysis.report.run import preflight_checks as checks


@dataclass(frozen=True)
class Preflight:
    """What a run may start from: checked parameters, the study's data and adaptation notes."""

    params: StudyParams
    data: StudyData
    notes: tuple[str, ...] = ()


def resolve_paths(params: StudyParams, cwd: Path) -> StudyParams:
    """Path parameters made absolute against ``cwd`` (once); each must be an existing file."""
    changes = {}
    for name in PATH_PARAMS:
        text = getattr(params, name)
        if not text:
            continue
        path = Path(text).expanduser()
        path = (path if path.is_absolute() else cwd / path).resolve()
        if not path.exists():
            raise InputError(f"{name}: file {text} not found (looked for {path})")
        if not path.is_file():
            raise InputError(f"{name}: {text} is a directory or special file, not a data file ({path})")
        changes[name] = str(path)
    return dataclasses.replace(params, **changes)


def load_side_files(params: StudyParams, data: StudyData) -> None:
    """Validate the optional reported-ranks and BigTech.fail files and add their bytes to the
    study's hashed inputs (the notebooks read exactly these files)."""
    from analysis.data.sources import bigtech, reported

    if params.reported_ranks_file:
        path = Path(params.reported_ranks_file)
        reported.load_reported_ranks(path)
        data.inputs[f"reported-{path.name}"] = path.read_bytes()
    if params.bigtech_events_file:
        path = Path(params.bigtech_events_file)
        bigtech.load_bigtech(path)
        data.inputs[f"bigtech-{path.name}"] = path.read_bytes()


def check_groups(params: StudyParams, data: StudyData) -> None:
    """Every ``groups`` override names an event of the registry (and a known group)."""
    from analysis.data.events import event_groups
    from analysis.errors import DataError
    from analysis.models.events.attribution import parse_groups

    try:
        event_groups(data.events, parse_groups(params.groups))
    except DataError as exc:
        raise ParameterError(str(exc)) from None


def check_window(params: StudyParams, data: StudyData) -> None:
    """The model window lies inside the panel and the model specification is valid."""
    from analysis.report.run.plan import model_spec

    when = params.intervention
    first, last = data.panel["date"].min(), data.panel["date"].max()
    if not first < when <= last:
        raise ParameterError(f"comparison_cutoff {when} is outside the data ({first} .. {last})")
    if (when - first).days < params.pre_days:
        raise ParameterError(
            f"pre_days={params.pre_days} reaches before the data: only {(when - first).days} days "
            f"between {first} and the intervention {when}"
        )
    try:  # the model the notebooks will declare: an invalid choice stops here, not mid-run
        model_spec(params, data.chart_depth)
    except ValueError as exc:
        raise ParameterError(f"model parameters: {exc}") from None


def adapt_data_defaults(params: StudyParams, data: StudyData, given: set[str]) -> tuple[StudyParams, list[str]]:
    """Check ``focus_app``, ``focus_country`` and ``placebo_apps`` against the selection and the
    data.  Defaults adapt (noted); values in ``given`` (set by the user) must fit or stop the run."""
    import polars as pl

    defaults, notes, changes = StudyParams(), [], {}
    for name, chosen in (("focus_app", params.apps), ("focus_country", params.countries)):
        value = getattr(params, name)
        if value in chosen:
            continue
        what = "apps" if name == "focus_app" else "countries"
        if name in given or value != getattr(defaults, name):
            raise ParameterError(f"{name} {value!r} is not in the selection ({what}={chosen}); "
                                 f"choose one of {chosen} or add it to {what}")
        changes[name] = chosen[0]
        notes.append(f"{name}: the default {value!r} is not selected; using {chosen[0]!r}")
    in_chart = data.panel.filter(pl.col("store") == params.store, pl.col("chart") == params.chart,
                                 pl.col("country").is_in(params.countries))
    have = sorted(in_chart["app_name"].unique().to_list())
    missing = [a for a in params.placebo_apps if a not in have]
    if missing and ("placebo_apps" in given or params.placebo_apps != defaults.placebo_apps):
        raise ParameterError(f"placebo_apps {missing} not in the data for store {params.store!r}, chart "
                             f"{params.chart!r} and countries {params.countries}; available: {have}")
    if missing:
        kept = [a for a in params.placebo_apps if a in have]
        changes["placebo_apps"] = kept
        notes.append(f"placebo_apps: the defaults {missing} are not in the data; using {kept or 'none'}")
    return dataclasses.replace(params, **changes), notes


def preflight(study: str, overrides: dict[str, str], cwd: Path | None = None) -> Preflight:
    """Check everything a run needs before any notebook runs (see the module docstring)."""
    from analysis.data.transform import select_series

    if "study" in overrides and overrides["study"] != study:
        raise ParameterError("give the study with --study, not -p study=...")
    from analysis.data.studies.registry import study_defaults

    params = resolve({**overrides, "study": study}, study_defaults(study))
    checks.check_lists(params)
    checks.check_robustness(params)
    checks.check_sizes(params)
    params = resolve_paths(params, Path(cwd) if cwd is not None else Path.cwd())
    data = load_study(params.study, seed=params.seed, daily_rule=params.daily_rule, panel_file=params.panel_file,
                      events_file=params.events_file, default_depth=params.default_depth,
                      event_shift=params.event_shift, add_event=params.add_event)
    load_side_files(params, data)
    check_groups(params, data)
    check_window(params, data)
    checks.check_post_window(params, data.panel["date"].max())
    select_series(data.panel, params.apps, params.countries, params.store, params.chart)
    params, event_notes = checks.check_events(params, data, set(overrides))
    params, notes = adapt_data_defaults(params, data, set(overrides))
    return Preflight(params, data, tuple(notes + event_notes))

