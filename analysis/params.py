"""The study's parameters: one typed definition, :class:`StudyParams`.

Every parameter of a run is a field of the frozen dataclass :class:`StudyParams`: its name, its
type (the annotation), its default, its help text and the notebooks that use it (field
metadata).  This one definition feeds

- ``exodus params`` (:func:`specs`: name, type, default, help, notebooks);
- ``exodus run -p name=value`` (:func:`resolve` converts each value to the field's type and
  rejects unknown names; :meth:`StudyParams.check` validates what needs no data);
- the runner (:func:`notebook_values`: the values papermill injects into each notebook);
- the notebooks' ``parameters`` cells, which papermill needs: :func:`parameters_cell` writes
  them from the definition, :func:`sync_notebooks` rewrites them, and a test asserts that the
  committed notebooks agree with it.

Checks against the data (dates inside the panel, apps present, files readable) are the
pre-flight's job (:mod:`analysis.report.run.preflight`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from analysis.errors import ParameterError
from analysis.models.downloads.law import exponent_range

NOTEBOOKS = ("01_data_overview", "02_its", "03_summary", "04_robustness")
ROBUSTNESS = ("04_robustness",)
EVENT_STUDY = ("02_its", "03_summary")
EVENT_KINDS = ("confound", "deplatforming", "platform_action", "other")
INTERNAL = frozenset({"output_dir"})  # set by the runner, not by users
RENAMED = {  # old name -> (new name, why): refused with the reason, never silently mapped
    "intervention_date": ("comparison_cutoff", "it never moved the answer: the answer's per-event design is dated "
                          "by the event registry; move events with -p event_shift=X04:+1, add one with "
                          "-p add_event=Y01:2021-01-14:deplatforming, drop one with -p exclude_events=X09"),
}
PATH_PARAMS = ("panel_file", "events_file", "reported_ranks_file", "bigtech_events_file")
DEFAULT_PLACEBO_APPS = ["Facebook Messenger", "Discord", "Twitter"]
DEFAULT_APPS = ["Signal", "Telegram", "WhatsApp", "Parler", "MeWe", "Rumble", "Discord", "Twitter"]


def _p(default: object, help_text: str, notebooks: tuple[str, ...] = NOTEBOOKS) -> typing.Any:
    """A parameter field: default (lists copied per instance), help and the notebooks using it."""
    meta = {"help": help_text, "notebooks": notebooks}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class StudyParams:
    """Every parameter of a study run (see the module docstring)."""

    study: str = _p("demo", 'which data: "demo" (synthetic, offline), "jan2021" (real archive; needs exodus data fetch), "custom" (panel_file), "wiki-top100" (real, shipped, offline) or "wiki-views" (real, lock-pinned); give it with --study')
    seed: int = _p(20210108, "seed of the synthetic demo generator (0 .. 2**32-1)")
    comparison_cutoff: str = _p("2021-01-08", "cutoff (first post day, UTC, YYYY-MM-DD) of the single-cutoff comparison model, its robustness checks and the confounder list; the answer is dated by the event registry (see event_shift, add_event, exclude_events)")
    pre_days: int = _p(60, "days of the model window before the first event of the per-event design (and before comparison_cutoff in the comparison model)")
    post_days: int = _p(30, "days of the model window from the first event on, inclusive (from comparison_cutoff in the comparison model)")
    apps: list[str] = _p(DEFAULT_APPS, "app names")
    countries: list[str] = _p(["us", "gb", "de", "fr", "in", "br"], "ISO 3166-1 alpha-2 codes, lower case")
    store: str = _p("ios", '"ios" or "google_play"')
    chart: str = _p("top_free_overall", "chart name")
    transform: str = _p("log", 'outcome: "log" (log rank) or "none" (rank)')
    alpha: float = _p(0.05, "1 - confidence level of intervals")
    confounder_days: int = _p(3, "flag events within this many days of the intervention")
    daily_rule: str = _p("nearest:12", "hourly->daily rule for archive studies: nearest:H (UTC hour), best, median")
    panel_file: str = _p("", "rank panel CSV/parquet for study \"custom\"; empty otherwise")
    default_depth: int = _p(200, "chart depth of a custom panel without a chart_depth column (at least its largest rank)")
    events_file: str = _p("", "events CSV replacing data/events/events_jan2021.csv; empty: the curated table")
    reported_ranks_file: str = _p("", "press-reported ranks CSV to overlay on trajectories; empty: none")
    bigtech_events_file: str = _p("", "BigTech.fail events CSV added to the confounder table; empty: curated events only")
    downloads_exponent: list[float] = _p([0.8, 1.1], "rank->downloads power-law exponent range (Garg & Telang 2013)")
    errors: str = _p("ar1", 'error model: "iid", "hac" (Newey-West), "ar1" (AR(1) errors, exact ML), "ar1-reml", "ar2".."ar9"')
    impact: str = _p("step+slope", 'impact model: "step", "step+slope", "pulse" or "decay:HALF_LIFE" (days)')
    seasonality: str = _p("dow", 'seasonal terms: "none", "dow" (day of week) or "fourier:PERIOD:K"')
    censored: bool = _p(False, "days below the chart depth as right-censored (Tobit likelihood) instead of left out")
    window_days: int = _p(14, "days of the window-average effect, from the first event's first affected snapshot", EVENT_STUDY)
    event_kinds: list[str] = _p(list(EVENT_KINDS), "registry event kinds that enter the per-event design (confound, deplatforming, platform_action, other)", EVENT_STUDY)
    exclude_events: list[str] = _p([], "registry event ids left out of the per-event design (e.g. X11)", EVENT_STUDY)
    event_shift: list[str] = _p([], "move registry events as EVENT_ID:DAYS, e.g. X04:+1 (one day later) or X04:-1")
    add_event: list[str] = _p([], "add events to the registry as EVENT_ID:YYYY-MM-DD[THH:MM UTC]:KIND[:APP], e.g. Y01:2021-01-14:deplatforming")
    event_shapes: list[str] = _p(["X03:decay:14"], "impact shape per event as EVENT_ID:IMPACT, IMPACT one of step, step+slope, decay:HALF_LIFE (others: step); the Musk tweet is a decaying spike", EVENT_STUDY)
    groups: list[str] = _p([], "attribution groups per event as EVENT_ID:GROUP, GROUP one of deplatforming, privacy_shock, other (e.g. X03:other); empty: by registry kind (deplatforming, platform_action -> deplatforming; confound -> privacy_shock; other -> other)", EVENT_STUDY)
    contrast_treated: str = _p("us", "treated country of the contrast design (treated minus the mean of the controls)", EVENT_STUDY)
    contrast_controls: list[str] = _p(["gb", "de", "fr"], "control countries of the contrast design (judged by pre-period parallel trends)", EVENT_STUDY)
    output_dir: str = _p("", "set by `exodus run`; empty: display only")
    placebo_apps: list[str] = _p(DEFAULT_PLACEBO_APPS, "placebo units: apps not expected to move (default: those of the three in the data)", ROBUSTNESS)
    focus_app: str = _p("Telegram", "app of the specification curve (must be in apps)", ROBUSTNESS)
    focus_country: str = _p("us", "country of the specification curve (ISO code, lower case; must be in countries)", ROBUSTNESS)
    cutoff_shifts: list[int] = _p([-3, -2, -1, 0, 1, 2, 3], "days by which the intervention is moved (alternative cutoffs)", ROBUSTNESS)
    donut_days: list[int] = _p([0, 1, 2, 3], "days left out on each side of the intervention (donut windows)", ROBUSTNESS)
    coverage_replicates: int = _p(1000, "replicates of the interval-coverage simulation", ROBUSTNESS)

    @property
    def intervention(self) -> date:
        return date.fromisoformat(self.comparison_cutoff)

    def as_dict(self) -> dict:
        """Plain values (lists, not tuples), as injected into the notebooks."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def check(self) -> None:
        """Validate what needs no data; raises :class:`ParameterError` naming the parameter."""
        try:
            date.fromisoformat(self.comparison_cutoff)
        except ValueError:
            raise ParameterError(f"comparison_cutoff must be YYYY-MM-DD, got {self.comparison_cutoff!r}") from None
        from analysis.data.event_overrides import check_overrides

        check_overrides(self.event_shift, self.add_event)
        if not 0 <= self.seed < 2**32:
            raise ParameterError(f"seed must be an integer from 0 to 2**32-1 (a numpy seed), got {self.seed}")
        for name in ("pre_days", "post_days"):
            if getattr(self, name) < 7:
                raise ParameterError(f"{name} must be at least 7, got {getattr(self, name)}")
        if not 0 < self.alpha < 0.5:
            raise ParameterError(f"alpha must be in (0, 0.5), got {self.alpha}")
        if self.confounder_days < 0:
            raise ParameterError(f"confounder_days must be >= 0, got {self.confounder_days}")
        if self.default_depth < 1:
            raise ParameterError(f"default_depth must be >= 1, got {self.default_depth}")
        if self.window_days < 1:
            raise ParameterError(f"window_days must be >= 1, got {self.window_days}")
        bad = [k for k in self.event_kinds if k not in EVENT_KINDS]
        if bad or not self.event_kinds:
            raise ParameterError(f"event_kinds must be a non-empty list of {', '.join(EVENT_KINDS)}, got {self.event_kinds}")
        from analysis.models.engine.design import Impact
        from analysis.models.events.estimates import parse_shapes

        try:
            for _, shape in parse_shapes(self.event_shapes):
                Impact.parse(shape)
        except ValueError as exc:
            raise ParameterError(f"event_shapes: {exc}") from None
        from analysis.models.events.attribution import parse_groups

        try:
            parse_groups(self.groups)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        if self.contrast_treated in self.contrast_controls:
            raise ParameterError(f"contrast_treated {self.contrast_treated!r} cannot also be a control")
        if self.coverage_replicates < 1:
            raise ParameterError(f"coverage_replicates must be >= 1, got {self.coverage_replicates}")
        exp = self.downloads_exponent
        if len(exp) != 2:
            raise ParameterError(f"downloads_exponent must be two numbers [low, high], got {exp}")
        if not all(math.isfinite(a) for a in exp):
            raise ParameterError(f"downloads_exponent must be two finite numbers [low, high], got {exp}")
        exponent_range(tuple(exp))


@dataclass(frozen=True)
class ParamSpec:
    """One parameter as listed by ``exodus params``."""

    name: str
    type: str  # "int" | "float" | "str" | "bool" | "list[str]" | "list[int]" | "list[float]"
    default: object
    help: str
    notebooks: tuple[str, ...]


def _type_name(tp: object) -> str:
    return str(tp) if typing.get_origin(tp) is list else tp.__name__  # type: ignore[union-attr]


def specs() -> dict[str, ParamSpec]:
    """Every parameter of :class:`StudyParams`, in declaration order (internal ones included)."""
    hints = typing.get_type_hints(StudyParams)
    defaults = StudyParams()
    return {
        f.name: ParamSpec(f.name, _type_name(hints[f.name]), getattr(defaults, f.name), f.metadata["help"],
                          tuple(f.metadata["notebooks"]))
        for f in dataclasses.fields(StudyParams)
    }


def _scalar(type_: str, text: str) -> object:
    if type_ == "str":
        return text
    if type_ == "int":
        return int(text)
    if type_ == "float":
        return float(text)
    if type_ == "bool":
        low = text.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(text)
    raise ValueError(f"unsupported type {type_}")


def convert(text: str, type_: str, name: str) -> object:
    """``text`` (as given to ``-p``) as a value of ``type_``; lists: ``a,b`` or a JSON list."""
    try:
        if type_.startswith("list["):
            inner = type_[5:-1]
            stripped = text.strip()
            if stripped.startswith("["):
                items = json.loads(stripped)
                if not isinstance(items, list):
                    raise ValueError(text)
            else:
                items = [s.strip() for s in stripped.split(",") if s.strip()]
            return [_scalar(inner, str(i)) for i in items]
        return _scalar(type_, text)
    except (ValueError, json.JSONDecodeError):
        raise ParameterError(
            f"parameter {name!r} expects {type_}, got {text!r}"
            + (" (give a comma-separated list or a JSON list)" if type_.startswith("list") else "")
        ) from None


def from_namespace(namespace: dict) -> StudyParams:
    """A :class:`StudyParams` from a notebook's variables (the ``parameters`` cell's defaults
    overridden by papermill's injected values).

    ``papermill -p NAME VALUE`` passes a value it cannot read as a number or boolean as a
    string, so ``-p countries '["us","in"]'`` (or ``us,in``) arrives as text: a string given for
    a non-string parameter is converted as ``exodus run -p`` converts it (:func:`convert`: a
    JSON list or a comma list), never split into characters.  Values of the right type (``-y``
    YAML, ``exodus run``) pass unchanged.
    """
    table = specs()
    values = {}
    for name, value in namespace.items():
        if name not in table:
            continue
        type_ = table[name].type
        if isinstance(value, str) and type_ != "str":
            value = convert(value, type_, name)
        elif type_ == "float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        values[name] = value
    return StudyParams(**values)


def describe(table: dict[str, ParamSpec] | None = None) -> str:
    table = specs() if table is None else table
    return "; ".join(f"{s.name} ({s.type})" for s in table.values() if s.name not in INTERNAL)


def resolve(overrides: dict[str, str], study_defaults: dict | None = None) -> StudyParams:
    """Defaults, then study defaults, then ``-p`` overrides (each converted to its field's type).

    Raises :class:`ParameterError` for an unknown or internal name, a value of the wrong type, or
    a value :meth:`StudyParams.check` rejects.
    """
    table = specs()
    values: dict[str, object] = {}
    for name, value in (study_defaults or {}).items():
        if name in table and name not in INTERNAL:
            values[name] = value
    for name, text in overrides.items():
        if name in RENAMED:
            new, why = RENAMED[name]
            raise ParameterError(f"parameter {name!r} is now {new!r} ({why}); see docs/student-parameters.md")
        if name not in table or name in INTERNAL:
            raise ParameterError(f"unknown parameter {name!r}. Valid parameters: {describe(table)}")
        values[name] = convert(text, table[name].type, name)
    params = StudyParams(**values)
    params.check()
    return params


def notebook_values(params: StudyParams, notebook: str, output_dir: str) -> dict:
    """The parameters papermill injects into ``notebook`` (its declared ones, plus ``output_dir``)."""
    out = {n: v for n, v in params.as_dict().items() if notebook in specs()[n].notebooks}
    out["output_dir"] = output_dir
    return out


def parameters_cell(notebook: str) -> str:
    """The source of ``notebook``'s ``parameters`` cell, generated from :class:`StudyParams`:
    one ``name = literal  # help`` line per parameter the notebook uses."""
    lines = []
    for s in specs().values():
        if notebook in s.notebooks:
            literal = json.dumps(s.default) if isinstance(s.default, str | list) else repr(s.default)
            lines.append(f"{s.name} = {literal}  # {s.help}")
    return "\n".join(lines)


def sync_notebooks(directory: Path) -> list[Path]:
    """Rewrite the ``parameters`` cell of every notebook in ``directory`` from the definition;
    returns the notebooks that changed."""
    import nbformat

    changed = []
    for name in NOTEBOOKS:
        path = directory / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        source = parameters_cell(name)
        if cell.source != source:
            cell.source = source
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x,y"]`` -> ``{"a": "1", "b": "x,y"}``."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ParameterError(f"parameter {item!r} must look like name=value")
        name, value = item.split("=", 1)
        out[name.strip()] = value
    return out


if __name__ == "__main__":  # python -m analysis.params: regenerate the notebooks' parameters cells
    from analysis.config import NOTEBOOKS as NOTEBOOK_DIR

    for p in sync_notebooks(NOTEBOOK_DIR):
        print(f"updated {p}")
