"""``exodus fit --figure PATH``: the frames behind the figure (:mod:`analysis.figures.fit`).

Single-group fits draw :func:`analysis.models.engine.estimate.path_frame` (observed, fitted, and the
counterfactual with its interval after the first intervention); the two-group design draws the
treated series, the control mean, both fitted lines and the treated counterfactual of
:func:`analysis.models.its.multigroup.paths`.  Values are on the modelling scale (after
``--transform``; log rate for count families).  The censored path has no figure.
"""

from __future__ import annotations

import argparse

import numpy as np
import polars as pl

from analysis.errors import InputError
from analysis.models.engine import estimate as engine
from analysis.models.its import frequency as freqs


def check(args: argparse.Namespace) -> None:
    """Refuse a bad ``--figure`` before anything is fitted or written (exit 2)."""
    if args.figure is None:
        return
    from analysis.figures import fit as fig  # altair only when a figure is asked for

    fig.check_path(args.figure)
    if args.censored_above is not None:
        raise InputError("--figure is not drawn for --censored-above fits (censored values have no point to plot)")


def _segment(index: np.ndarray, cut: list[float]) -> np.ndarray:
    return np.searchsorted(np.asarray(cut), index, side="right")


def _label(group: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items()) or "all rows"


def single_frame(keep: dict, fits: list[dict]) -> pl.DataFrame:
    """Panels of the single-group fits that were estimated."""
    g, dates, cut = keep["fit"], keep["dates"], keep["cut"]
    pf = engine.path_frame(g, dates)
    idx = dates.to_frame("date").with_row_index("_t")
    labels = pl.DataFrame({"series": list(range(len(fits))), "panel": [_label(f["group"]) for f in fits]},
                          schema={"series": pl.Int64, "panel": pl.String})
    pf = (pf.with_columns(pl.col("series").cast(pl.Int64)).join(idx, on="date").join(labels, on="series")
          .filter(pl.col("series").is_in([i for i, f in enumerate(fits) if "error" not in f])))
    post = pl.col("post")
    return pf.select("panel", pl.lit("series").alias("role"), "date",
                     pl.Series("segment", _segment(pf["_t"].to_numpy(), cut)), "observed", "fitted",
                     *(pl.when(post).then(pl.col(c)).alias(c) for c in ("counterfactual", "cf_low", "cf_high")))


def multigroup_frame(keep: dict, fits: list[dict]) -> pl.DataFrame:
    """Treated and control-mean panels of the two-group fits."""
    dates, cut = keep["dates"], keep["cut"]
    seg = _segment(np.arange(dates.len()), cut)
    post = np.arange(dates.len()) >= cut[0]
    parts = []
    for f, p in zip(fits, keep["paths"], strict=True):
        if p is None:
            continue
        for role, y, fitted, cf in (("treated", p["y1"], p["fitted1"], np.where(post, p["cf1"], np.nan)),
                                    ("control mean", p["y0"], p["fitted0"], np.full(dates.len(), np.nan))):
            ok = ~np.isnan(y)
            parts.append(pl.DataFrame({"panel": _label(f["group"]), "role": role, "date": dates.filter(ok),
                                       "segment": seg[ok], "observed": y[ok], "fitted": fitted[ok],
                                       "counterfactual": cf[ok]}).with_columns(pl.col("counterfactual").fill_nan(None)))
    return pl.concat(parts)


def draw(args: argparse.Namespace, fits: list[dict], keep: dict) -> None:
    """Build and write the figure of ``--figure``."""
    frame = multigroup_frame(keep, fits) if args.group_col else single_frame(keep, fits)
    interventions = sorted({freqs.resolve_intervention(x, args.frequency) for x in args.intervention})
    ylabel = f"log({args.outcome})" if args.transform == "log" else args.outcome
    m = fits[0]["model"]
    sub = f"{m['frequency']} data; errors {m['errors']}; slopes {m['slope_unit']}."
    from analysis.figures import fit as fig  # altair only when a figure is asked for

    fig.write(fig.chart(frame, interventions, args.frequency, ylabel, sub, m["interventions"]),
              fig.check_path(args.figure))
