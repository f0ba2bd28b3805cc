"""``exodus params``: every run parameter, grouped by what it acts on, with its study's default.

The groups say where a parameter acts, so a student can see which ones move the answer:

- **data**: which study, which series (apps, countries, store, chart) and input files;
- **design**: the per-event design that *is* the answer (its window, which events enter, when
  and in what shape: ``event_shift``, ``add_event``, ``exclude_events``, ``event_shapes``), the
  contrast design, and the single-cutoff comparison model's ``comparison_cutoff``;
- **model**: the likelihood (transform, error model, impact, seasonality, censoring, alpha);
- **robustness**: the checks of notebook 04;
- **output**: how the answer is translated and annotated (downloads exponent, overlays, confounder list).

This module imports nothing heavy (the CLI's start-up stays fast); :data:`STUDY_NAMES` is
checked against :data:`analysis.data.studies.registry.STUDIES` by a test.
"""

from __future__ import annotations

from typing import TextIO

from analysis.data.studies.names import STUDY_NAMES, SYNTHETIC_STUDIES  # noqa: F401  (re-exported)

GROUPS: dict[str, tuple[str, ...]] = {
    "data": ("study", "seed", "apps", "countries", "store", "chart", "daily_rule", "panel_file", "default_depth",
             "events_file"),
    "design": ("pre_days", "post_days", "window_days", "event_kinds", "exclude_events", "event_shift", "add_event",
               "event_shapes", "groups", "contrast_treated", "contrast_controls", "comparison_cutoff"),
    "model": ("transform", "errors", "impact", "seasonality", "censored", "alpha"),
    "robustness": ("placebo_apps", "focus_app", "focus_country", "cutoff_shifts", "donut_days", "coverage_replicates"),
    "output": ("downloads_exponent", "reported_ranks_file", "bigtech_events_file", "confounder_days"),
}
GROUP_OF = {name: group for group, names in GROUPS.items() for name in names}


def group_of(name: str) -> str:
    """The group of parameter ``name``; KeyError for a parameter no group lists (a test keeps
    every parameter listed)."""
    return GROUP_OF[name]


def print_params(study: str, out: TextIO) -> int:
    """Print the parameters of ``study`` by group (defaults: the study's own where it sets them)."""
    from analysis import params
    from analysis.data.studies.registry import study_defaults

    specs = params.specs()
    own = study_defaults(study)
    kind = "SYNTHETIC" if study in SYNTHETIC_STUDIES else "REAL"
    width = max(len(n) for n in specs)
    print(f"Parameters of study {study!r} ({kind} data); set with: .venv/bin/exodus run --study {study} -p name=value",
          file=out)
    for group, names in GROUPS.items():
        print(f"\n{group}:", file=out)
        for name in names:
            s = specs[name]
            default = f"{own[name]!r} (study default)" if name in own else repr(s.default)
            where = "" if s.notebooks == params.NOTEBOOKS else f"  [{', '.join(s.notebooks)}]"
            print(f"  {name:<{width}}  {s.type:<11} = {default}", file=out)
            print(f"  {'':<{width}}  {s.help}{where}", file=out)
    return 0
