"""Pre-flight checks of the parameters that used to fail inside the notebooks (issue 20).

Each function raises :class:`~analysis.errors.ParameterError` (exit 2, nothing written) naming
the parameter, its value and the admissible range, so a run that cannot finish never starts:

- :func:`check_lists`: every list parameter is non-empty unless the empty list means something
  (:data:`EMPTY_OK`: no excluded event, no shape override, no placebo unit);
- :func:`check_post_window`: the post-period (``post_days`` from the intervention) lies inside the
  data, as the pre-period already must;
- :func:`check_robustness`: every alternative cutoff (``cutoff_shifts``) and donut
  (``donut_days``) leaves at least :data:`MIN_FIT_SIDE` days on each side of its cutoff (the
  defaults, -3..3 and 0..3, always do: ``pre_days`` and ``post_days`` are at least 7);
- :func:`check_events`: event ids in ``exclude_events`` and ``event_shapes`` exist in the event
  table, ``window_days`` fits in the post-period (a given value must; the default adapts to a
  shorter ``post_days``, with a note), and at least one selected event falls inside the
  per-event window, at least :data:`MIN_SIDE` days after its start.  Notes say when ``event_shapes`` replaces the default
  shapes (the events it does not list become steps).
"""

from __future__ import annotations

from datetime import timedelta

from analysis.errors import ParameterError
from analysis.params import StudyParams, specs

MIN_SIDE = 7  # days: the smallest pre_days/post_days StudyParams.check accepts
MIN_FIT_SIDE = 3  # days each side of a moved cutoff or a donut: a level and its noise need more than two
EMPTY_OK = {
    "exclude_events": "no registry event is left out",
    "event_shapes": "every event takes its kind's default shape (step)",
    "placebo_apps": "no placebo units (the placebo-unit check is skipped)",
    "groups": "every event is in the attribution group of its registry kind",
    "event_shift": "no registry event is moved",
    "add_event": "no event is added to the registry",
}


def check_lists(params: StudyParams) -> None:
    """No list parameter is empty unless :data:`EMPTY_OK` says what the empty list means."""
    for name, spec in specs().items():
        if spec.type.startswith("list[") and not getattr(params, name) and name not in EMPTY_OK:
            raise ParameterError(f"{name} is empty (no {name} selected): give at least one value ({spec.help}; default {spec.default}). "
                                 f"Only {', '.join(sorted(EMPTY_OK))} may be empty")


def check_sizes(params: StudyParams) -> None:
    """``default_depth`` no deeper than any chart (:data:`analysis.data.panel.MAX_DEPTH`)."""
    from analysis.data.panel import MAX_DEPTH

    if params.default_depth > MAX_DEPTH:
        raise ParameterError(f"default_depth={params.default_depth} is larger than any chart (at most {MAX_DEPTH:,})")


def check_post_window(params: StudyParams, last) -> None:
    """``post_days`` from the intervention (inclusive) must end on or before the data's last day."""
    when = params.intervention
    end = when + timedelta(days=params.post_days - 1)
    if end > last:
        have = (last - when).days + 1
        fix = (f"post_days must be {MIN_SIDE}..{have} here" if have >= MIN_SIDE else
               f"fewer than {MIN_SIDE}: move comparison_cutoff to {last - timedelta(days=MIN_SIDE - 1)} or earlier")
        raise ParameterError(f"post_days={params.post_days} reaches past the data: the window would end {end}, the "
                             f"data end {last} ({have} day(s) from the intervention {when} on; {fix})")


def check_robustness(params: StudyParams) -> None:
    """Alternative cutoffs and donut widths that leave :data:`MIN_FIT_SIDE` days on each side."""
    lo, hi = -(params.pre_days - MIN_FIT_SIDE), params.post_days - MIN_FIT_SIDE
    bad = [s for s in params.cutoff_shifts if not lo <= s <= hi]
    if bad:
        raise ParameterError(f"cutoff_shifts {bad} move the intervention too far: each shift must leave at least "
                             f"{MIN_FIT_SIDE} days before and from the moved cutoff inside the window, i.e. lie in "
                             f"{lo}..{hi} (pre_days={params.pre_days}, post_days={params.post_days})")
    top = min(params.pre_days, params.post_days) - MIN_FIT_SIDE
    bad = [w for w in params.donut_days if not 0 <= w <= top]
    if bad:
        raise ParameterError(f"donut_days {bad} out of range: a donut leaves out w >= 0 days on each side and must keep "
                             f"{MIN_FIT_SIDE} on each, so w lies in 0..{top} (pre_days={params.pre_days}, "
                             f"post_days={params.post_days})")


def _events_source(params: StudyParams) -> str:
    from analysis.config import EVENTS_FILE

    return params.events_file or str(EVENTS_FILE)


def check_events(params: StudyParams, data, given: set[str]) -> tuple[StudyParams, list[str]]:
    """Event parameters against the study's event table and data (see the module docstring);
    ``given``: the parameters the user set (their values must fit; defaults adapt)."""
    import dataclasses

    from analysis.models.events.estimates import design_for, parse_shapes, run_spec

    ids = set(data.events["event_id"].to_list())
    source = _events_source(params)
    for name, named in (("exclude_events", list(params.exclude_events)),
                        ("event_shapes", [e for e, _ in parse_shapes(params.event_shapes)])):
        unknown = [e for e in named if e not in ids]
        if unknown:
            raise ParameterError(f"{name}: unknown event id(s) {unknown}; the event table {source} has "
                                 f"{sorted(ids)}")
    notes = []
    if params.window_days > params.post_days:
        if "window_days" in given:
            raise ParameterError(f"window_days={params.window_days} is longer than the post-period "
                                 f"(post_days={params.post_days}): the window-average effect would be cut short; "
                                 f"give window_days of 1..{params.post_days}")
        notes.append(f"window_days: the default {params.window_days} is longer than post_days={params.post_days}; "
                     f"using {params.post_days}")
        params = dataclasses.replace(params, window_days=params.post_days)
    spec = run_spec(data, params)
    try:
        design = design_for(spec, data.events)
    except ValueError as exc:
        raise ParameterError(f"event design (event table {source}): {exc}") from None
    if not design.terms:
        raise ParameterError(f"no event of kinds {list(params.event_kinds)} (less exclude_events) has its first "
                             f"affected snapshot inside the window {spec.start} (exclusive) .. {spec.end}: the event "
                             f"table {source} has events from {data.events['date_utc'].min()} to "
                             f"{data.events['date_utc'].max()}")
    pre = (design.first_event - spec.start).days
    if pre < MIN_SIDE:
        first = design.terms[0]
        raise ParameterError(f"the first event term inside the per-event window ({first.id}, first affected snapshot "
                             f"{first.first_snapshot}) leaves {pre} day(s) of pre-period after the window start "
                             f"{spec.start}; the per-event design needs at least {MIN_SIDE}: raise pre_days, or move "
                             f"comparison_cutoff next to the registry's events")
    default = StudyParams().event_shapes
    if list(params.event_shapes) != default:
        kept = {e for e, _ in parse_shapes(params.event_shapes)}
        lost = [s for s in default if s.partition(":")[0] not in kept]
        if lost:
            notes.append(f"event_shapes replaces the default shapes: {', '.join(lost)} no longer applies (events "
                         f"not listed take their kind's default shape, step)")
    return params, notes
