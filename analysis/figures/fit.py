"""``exodus fit --figure PATH``: observed, fitted and counterfactual paths with the intervention rules.

One panel per fitted group (at most :data:`MAX_PANELS`): points are the observed values, solid
lines the fitted segmented model (broken at every intervention), the dashed line the
counterfactual (the model without the intervention terms: the pre-period trend continued; for
the two-group design the treated series without its difference terms, i.e. following the
controls' change) with its confidence band where the fit gives one, and red rules mark the
interventions.  The style is the report's (:mod:`analysis.figures.its`): same widths, colours and
title layout.  Written as PNG or SVG by ``vl_convert`` (no browser needed).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl

from analysis.errors import InputError

MAX_PANELS = 24
SUFFIXES = (".png", ".svg")
ROLE_COLORS = {"series": "#1f77b4", "treated": "#1f77b4", "control mean": "#ff7f0e"}


def check_path(text: str) -> Path:
    """The figure's path: a ``.png`` or ``.svg`` file in an existing directory (else exit 2)."""
    p = Path(text)
    if p.suffix.lower() not in SUFFIXES:
        raise InputError(f"--figure {text!r}: the file must end in .png or .svg")
    if not p.parent.is_dir():
        raise InputError(f"--figure {text!r}: the directory {str(p.parent)!r} does not exist")
    if p.is_dir():
        raise InputError(f"--figure {text!r} is a directory")
    return p


def chart(frame: pl.DataFrame, interventions: list[date], freq: str, ylabel: str, subtitle: str,
          labels: list[str] | None = None):
    """The figure of ``frame`` (``panel``, ``role``, ``date``, ``segment``, ``observed``, ``fitted``,
    ``counterfactual``, optional ``cf_low``/``cf_high``): one facet per panel; ``labels`` name the
    interventions in the subtitle (default: their dates)."""
    import altair as alt

    from analysis.figures.common import WIDTH, title, utc_datetime

    panels = frame["panel"].unique(maintain_order=True).to_list()
    if len(panels) > MAX_PANELS:
        raise InputError(f"--figure draws at most {MAX_PANELS} groups, not {len(panels)}: select some with --where")
    fmt = "%Y" if freq == "annual" else "%Y-%m-%d"
    data = frame.with_columns(pl.col("date").dt.to_string("%Y-%m-%d"))
    x = alt.X("date:T", scale=alt.Scale(type="utc"), title=None, axis=alt.Axis(format=fmt, formatType="utc"))
    roles = frame["role"].unique(maintain_order=True).to_list()
    color = alt.Color("role:N", scale=alt.Scale(domain=roles, range=[ROLE_COLORS[r] for r in roles]),
                      legend=alt.Legend(title=None) if frame["role"].n_unique() > 1 else None)
    base = alt.Chart().encode(x=x)
    y = alt.Y("observed:Q", scale=alt.Scale(zero=False), title=ylabel)
    layers = []
    if "cf_low" in frame.columns:
        layers.append(base.transform_filter("isValid(datum.cf_low)").mark_area(opacity=0.2, color="#888")
                      .encode(y="cf_low:Q", y2="cf_high:Q"))
    layers += [
        base.mark_point(size=18, filled=True).encode(
            y=y, color=color, tooltip=[alt.Tooltip("date:T", format=fmt, formatType="utc"), "role:N",
                                       alt.Tooltip("observed:Q", format=".4g")]),
        base.mark_line().encode(y="fitted:Q", color=color, detail="segment:N"),
        base.transform_filter("isValid(datum.counterfactual)").mark_line(strokeDash=[5, 3], color="#444")
        .encode(y="counterfactual:Q", detail="role:N"),
    ]
    for d in interventions:  # one rule per intervention and panel
        layers.append(alt.Chart().transform_aggregate(n="count()").mark_rule(color="#d62728")
                      .encode(x=alt.datum(utc_datetime(d), type="temporal")))
    head = title("exodus fit: observed, fitted and counterfactual", False,
                 ["Points: observed; solid: fitted segmented model; dashed (+ band): counterfactual without the "
                  "intervention terms.", f"Red rule(s): intervention(s) {', '.join(labels or map(str, interventions))}. "
                  + subtitle])
    layer = alt.layer(*layers, data=data)
    if len(panels) == 1:
        return layer.properties(width=WIDTH, height=260, title=head)
    return (layer.properties(width=260, height=170).facet(facet=alt.Facet("panel:N", title=None), columns=2)
            .resolve_scale(y="independent").properties(title=head))


def write(fig, path: Path) -> None:
    """Write the chart as PNG or SVG (by the suffix), atomically: a failed render leaves nothing."""
    import vl_convert as vlc

    from analysis.figures.common import VL_VERSION
    from analysis.figures.safejson import strict_spec

    spec = strict_spec(fig.to_dict())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if path.suffix.lower() == ".png":
            tmp.write_bytes(vlc.vegalite_to_png(spec, vl_version=VL_VERSION, scale=2))
        else:
            tmp.write_text(vlc.vegalite_to_svg(spec, vl_version=VL_VERSION), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
