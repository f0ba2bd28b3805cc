"""``exodus fit``: fit an interrupted time-series model to any regular series in a CSV or parquet.

    exodus fit DATA --date-col COL --outcome COL --intervention DATE|YEAR [--intervention ...]
      [--frequency daily|weekly|monthly|quarterly|annual] [--by COL[,COL...]] [--where COL=VALUE ...]
      [--transform none|log] [--family gaussian|poisson|quasipoisson|negbin] [--exposure COL]
      [--errors iid|hac|ar1] [--hac-lags N] [--hac-correction stata|none]
      [--seasonality none|dow|fourier:PERIOD:K] [--impact step|step+slope|pulse|decay:HALF_LIFE]
      [--alpha 0.05] [--json] [--figure PATH.png|PATH.svg] [--group-col COL --treated VALUE]
      [--contrast COL=TREATED:C1[,C2...]] [--pool] [--censored-above DEPTH]

Dates must be regular: daily, weekly, monthly, quarterly or annual (a column of years such as
1989 reads as annual), gaps allowed (missing periods are missing, not zero).  The frequency is
inferred when not given and printed; dates off its grid are an error, never relabelled.  Every
slope is per period of that frequency, and PERIOD of ``fourier`` and HALF_LIFE of ``decay`` count
periods.  The post period starts at the first row on or after the intervention.  The output is
the whole coefficient table (intercept, pre_trend, level, slope_change, post_trend).  ``--by``
fits each group separately (one batched pass); ``--group-col``/``--treated``: the multiple-group
ITSA; ``--censored-above DEPTH``: empty outcome cells are censored, fitted by the study's event
design with entry bounds.  Bad arguments or data stop with a message naming the file, column and
row, and exit code 2.  Details: docs/fit.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from analysis.cli.fit import censored as fit_censored
from analysis.cli.fit import censoring as fit_censoring
from analysis.cli.fit import checks as fitcheck
from analysis.cli.fit import designs as fit_designs
from analysis.cli.fit import figure as fit_figure
from analysis.cli.fit import multigroup as fit_multigroup
from analysis.cli.fit import options as fit_options
from analysis.data.csvcheck import fail_first, read_frame
from analysis.errors import DataError, InputError
from analysis.models.engine import estimate as engine
from analysis.models.engine.design import Impact, Seasonality, build_design
from analysis.models.its import frequency as freqs
from analysis.models.its.terms import terms_frame

ROW = "_row"


def _alpha_arg(text: str) -> float:
    try:
        a = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < a < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {a}")
    return a


def _parsed(parse):
    def check(text: str) -> str:
        try:
            return str(parse(text))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return check


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``fit`` subcommand to the ``exodus`` parser."""
    f = sub.add_parser("fit", help="fit an ITS model to a CSV/parquet series (one or many groups)",
                       description=__doc__.split("\n\n")[0] + "\n" + __doc__.split("\n\n")[2],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("data", metavar="DATA", help="CSV or parquet file")
    f.add_argument("--date-col", required=True, metavar="COL", help="column of dates (YYYY-MM-DD) or years (1989)")
    f.add_argument("--outcome", required=True, metavar="COL", help="column of the outcome")
    f.add_argument("--intervention", required=True, action="append", type=_parsed(freqs.intervention_arg),
                   metavar="DATE", help="first post-intervention date, or year for annual data (repeatable)")
    f.add_argument("--by", metavar="COL[,COL...]", help="fit each group of these columns separately")
    f.add_argument("--where", action="append", default=[], metavar="COL=VALUE",
                   help="keep rows where COL equals VALUE (repeatable, all must hold)")
    f.add_argument("--transform", choices=engine.TRANSFORMS, default="none",
                   help="model log(outcome) or the outcome (default: none)")
    f.add_argument("--family", choices=engine.FAMILIES, default="gaussian",
                   help="gaussian, or a log-link count model (default: gaussian)")
    f.add_argument("--exposure", metavar="COL", help="count families: exposure column (log offset)")
    f.add_argument("--errors", choices=("iid", "hac", "ar1"), default=None,
                   help="iid, Newey-West HAC, or AR(1) errors by exact ML (default: hac with one intervention, "
                        "ar1 with several: short event segments make HAC intervals too narrow)")
    f.add_argument("--seasonality", type=_parsed(Seasonality.parse), default="none",
                   metavar="none|dow|fourier:PERIOD:K", help="seasonal terms (default: none)")
    f.add_argument("--impact", type=_parsed(Impact.parse), default="step+slope",
                   metavar="step|step+slope|pulse|decay:HALF_LIFE", help="impact shape (default: step+slope)")
    f.add_argument("--alpha", type=_alpha_arg, default=0.05, help="1 - confidence level (default: 0.05)")
    f.add_argument("--contrast", metavar="COL=TREATED:C1[,C2...]",
                   help="fit TREATED minus the mean of the controls (values of COL), within each --by group")
    f.add_argument("--pool", action="store_true",
                   help="add random-effects (REML) pooled estimates of each term across the fitted groups")
    f.add_argument("--json", action="store_true", help="print JSON instead of a table")
    fit_censoring.add_argument(f)
    fit_options.add_arguments(f)
    f.set_defaults(func=run)


# ---------------------------------------------------------------- reading and validating


def read_table(path: Path) -> pl.DataFrame:
    """Read CSV (all columns as text, cast later with row-level errors) or parquet."""
    df = read_frame(path, csv_suffixes=None)  # a ragged row is named by its number, not by polars' advice
    if df.height == 0:
        raise DataError("the file has no data rows", file=str(path))
    return df


def _fail_first(df: pl.DataFrame, bad: pl.Expr, message: str, src: str, column: str) -> None:
    fail_first(df, bad, message, src, column, ROW)


def _numeric(df: pl.DataFrame, col: str, src: str) -> pl.DataFrame:
    c = pl.col(col)
    raw = c.cast(pl.String).str.strip_chars() if df.schema[col] == pl.String else c
    cast = raw.cast(pl.Float64, strict=False)
    blank = c.is_null() | (c.cast(pl.String).str.strip_chars() == "") if df.schema[col] == pl.String else c.is_null()
    _fail_first(df, ~blank & cast.is_null(), "not a number", src, col)
    return df.with_columns(pl.when(blank).then(None).otherwise(cast).alias(col))


def _where(df: pl.DataFrame, clauses: list[str], src: str) -> pl.DataFrame:
    for clause in clauses:
        if "=" not in clause:
            raise InputError(f"--where expects COL=VALUE, got {clause!r}")
        col, value = clause.split("=", 1)
        if col not in df.columns:
            raise DataError(f"--where column {col!r} not found; available: {df.columns}", file=src)
        dtype = df.schema[col]
        if dtype.is_numeric():
            try:
                df = df.filter(pl.col(col) == float(value))
            except ValueError:
                raise InputError(f"--where {clause!r}: column {col!r} is numeric, {value!r} is not") from None
        else:
            df = df.filter(pl.col(col).cast(pl.String) == value)
    if df.is_empty():
        raise InputError(f"no rows of {src} match --where {' '.join(clauses)}")
    return df


def prepare(args: argparse.Namespace) -> tuple[pl.DataFrame, list[str], engine.ModelSpec]:
    """Read, filter, type and check the data; return (frame, group columns, model)."""
    path = Path(args.data)
    src = str(path)
    df = read_table(path)
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else []
    needed = [args.date_col, args.outcome, *by] + ([args.exposure] if args.exposure else [])
    missing = [c for c in dict.fromkeys(needed) if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}; available: {df.columns}", file=src)
    if args.exposure and args.family == "gaussian":
        raise InputError("--exposure needs a count family: --family poisson, quasipoisson or negbin")
    fitcheck.check_columns(df, args.date_col, args.outcome, by, args.exposure, src)
    model = fit_options.model_spec(args)
    df = df.with_row_index(ROW, offset=1)
    df = _where(df, args.where, src)
    df, is_year = freqs.read_dates(df, args.date_col, src, ROW)
    args.frequency_inferred = args.frequency is None
    args.frequency = args.frequency or freqs.infer(df[args.date_col], is_year)
    if args.frequency_inferred:
        freqs.check_inferred(df, args.date_col, args.frequency, src, ROW)
    freqs.check_grid(df, args.date_col, args.frequency, src, ROW, is_year)
    df = _numeric(df, args.outcome, src)
    fitcheck.check_finite(df, args.outcome, src)
    fitcheck.check_magnitude(df, args.outcome, args.transform, src)
    y = pl.col(args.outcome)
    if args.transform == "log":
        _fail_first(df, y.is_not_null() & (y <= 0), "log transform needs positive values", src, args.outcome)
    fit_censoring.check(args, df, src, ROW)
    if args.family != "gaussian":
        _fail_first(df, y.is_not_null() & ((y < 0) | (y != y.round(0))),
                    f"family {args.family} needs non-negative whole counts", src, args.outcome)
    if args.exposure:
        df = _numeric(df, args.exposure, src)
        fitcheck.check_finite(df, args.exposure, src)
        e = pl.col(args.exposure)
        _fail_first(df, e.is_null() | (e <= 0), "exposure must be a positive number", src, args.exposure)
    dup = pl.struct([*by, args.date_col]).is_duplicated() & (pl.int_range(pl.len()).over([*by, args.date_col]) > 0)
    hit = df.filter(dup).head(1)
    if hit.height:
        grp = ", ".join(f"{c}={hit[c][0]}" for c in by)
        raise DataError(f"duplicate date {hit[args.date_col][0]}" + (f" within group {grp}" if by else "")
                        + ("; use --by or --where to separate series" if not by else ""),
                        file=src, column=args.date_col, row=int(hit[ROW][0]))
    return df, by, model


# ---------------------------------------------------------------- fitting


def _grid(df: pl.DataFrame, by: list[str], model: engine.ModelSpec, args: argparse.Namespace) -> dict:
    """The groups x periods grid of the data: outcome, censoring flags, offsets, dates, cutoffs."""
    dcol, freq = args.date_col, args.frequency
    if model.seasonality == "dow" and freq != "daily":
        raise InputError(f"--seasonality dow needs daily dates; {args.data} has {freq} dates")
    start, end = df[dcol].min(), df[dcol].max()
    ti = freqs.period_index(df[dcol], start, freq).astype(int)
    T = int(ti.max()) + 1
    groups = df.select(by).unique(maintain_order=False).sort(by) if by else pl.DataFrame({"_g": [0]})
    S = groups.height
    fitcheck.check_allocation(S, T, by, str(args.data))
    gi = (df.join(groups.with_row_index("_gi"), on=by, how="left")["_gi"].to_numpy() if by
          else np.zeros(df.height, dtype=int))
    Y, flag = fit_censoring.outcome_grid(df[args.outcome], gi, ti, (S, T), args.censored_above)
    off = None
    if args.exposure:
        off = np.full((S, T), np.nan)
        off[gi, ti] = np.log(df[args.exposure].cast(pl.Float64).to_numpy())
    dates = freqs.grid(start, end, freq)
    wanted = [freqs.resolve_intervention(x, freq) for x in args.intervention]
    interventions, cut = fit_options.intervention_cutoffs(wanted, dates, freq, (start, end))
    return {"groups": groups, "Y": Y, "flag": flag, "offset": off, "dates": dates, "cut": cut,
            "labels": [freqs.label(d, freq) for d in interventions],
            "weekday": dates.dt.weekday().to_numpy() if freq == "daily" else None}


def fit_all(df: pl.DataFrame, by: list[str], model: engine.ModelSpec, args: argparse.Namespace,
            keep: dict | None = None) -> list[dict]:
    """Fit every group on the common period grid in one batched call; one dict per group.
    ``keep`` (a dict) receives the engine fit and the grid (for ``--figure``)."""
    d = _grid(df, by, model, args)
    groups, Y, flag, cut, labels = d["groups"], d["Y"], d["flag"], d["cut"], d["labels"]
    T = Y.shape[1]
    y = engine.transform_outcome(Y, model.transform)
    fitcheck.check_variation(y, groups, by, args.outcome)
    design = build_design(np.arange(T, dtype=float), cut, model.impact_obj, model.seasonality_obj, d["weekday"],
                          labels, None)
    if args.censored_above is not None:  # the study's design path (entry bounds included)
        fitcheck.check_segments(y, cut, labels, model, groups, by, args.frequency, {})
        info = fit_options.model_info(model, args, labels, list(design.names))
        return _all_failed(fit_censored.fit(df, by, model, args, labels, cut, T, info), by)
    short = fitcheck.check_rows(design.X.shape[1], y, model, groups, by)
    fitcheck.check_segments(y, cut, labels, model, groups, by, args.frequency, short)
    fitcheck.check_rank(design.X, list(design.names), y, groups, by, int(cut[0]))
    g = engine.fit_grid(y, np.arange(T, dtype=float), cut, model, labels=labels,
                        weekday=d["weekday"], offset=d["offset"], flag=flag)
    if keep is not None:
        keep |= {"fit": g, **d}
    with np.errstate(divide="ignore", invalid="ignore"):  # groups too short for a statistic: reported below
        eff = engine.effects_frame(g, list(g.design.effect_terms))
        tab = terms_frame(g)
        diag = engine.diagnostics_frame(g)
    reasons = engine.skipped_reasons(g) | short
    model_info = fit_options.model_info(model, args, labels, list(g.design.names))
    fits = []
    for s in range(groups.height):
        group = {c: fit_options.json_value(groups[c][s]) for c in by}
        entry: dict = {"group": group, "n_pre": int(g.n_pre[s]), "n_post": int(g.n_post[s]), "model": model_info}
        if g.n_pre[s] == 0 or g.n_post[s] == 0:
            reasons[s] = f"no rows {'before' if g.n_pre[s] == 0 else 'on or after'} the intervention"
        if s in reasons:
            entry |= {"effects": {}, "terms": [], "diagnostics": {}, "error": reasons[s]}
        else:
            rows = eff.filter(pl.col("series") == s).drop("series")
            entry["effects"] = {r.pop("term"): {"kind": "estimate", **{k: fit_options.json_value(v) for k, v in r.items()}}
                                for r in rows.to_dicts()}
            entry["terms"] = [{k: fit_options.json_value(v) for k, v in r.items()}
                              for r in tab.filter(pl.col("series") == s).drop("series").to_dicts()]
            dg = diag.filter(pl.col("series") == s).drop("series").row(0, named=True)
            warn = dg.pop("warnings")
            entry["diagnostics"] = {k: fit_options.json_value(v) for k, v in dg.items()} | {"warnings": warn.split("; ") if warn else []}
        fits.append(entry)
    return _all_failed(fits, by)


def _all_failed(fits: list[dict], by: list[str]) -> list[dict]:
    """The fits, unless no group could be fitted: then exit 2 with the first group's reason."""
    if all("error" in f for f in fits):
        first = fits[0]
        where = f" (group {first['group']})" if by else ""
        raise InputError(f"no group could be fitted{where}: {first['error']}")
    return fits


# ---------------------------------------------------------------- output


def format_table(fits: list[dict], alpha: float) -> str:
    """Readable text: one block per group."""
    level = f"{round((1 - alpha) * 100)}%"
    out = []
    for f in fits:
        g = ", ".join(f"{k}={v}" for k, v in f["group"].items()) or "all rows"
        m = f["model"]
        freq = m["frequency"] + (" (inferred)" if m.get("frequency_inferred") else "")
        out.append(f"== {g}  (n_pre {f['n_pre']}, n_post {f['n_post']}; {freq}, slopes {m['slope_unit']}; "
                   f"{m['family']}{', log(outcome)' if m['transform'] == 'log' else ''}; errors {m['errors']}; "
                   f"impact {m['impact']}; seasonality {m['seasonality']})")
        out.append(f"   errors: {m['description']}")
        if m.get("design"):
            out.append(f"   design: {m['design']}: {m['group_col']} = {m['treated']} against the mean of "
                       f"{len(m['controls'])} control(s) ({', '.join(m['controls'])})")
        if "error" in f:
            out.append(f"   not estimable: {f['error']}")
            continue
        for term, e in f["effects"].items():
            if e.get("kind") in ("bound", "not_identified"):
                out.append(fit_censored.row_line(term, e))
        if f.get("terms"):
            ratios = {("slope_change" + t[5:] if t.startswith("slope") else t): e
                      for t, e in f["effects"].items() if "ratio" in e}
            out += fit_options.terms_lines(f["terms"], level, m["slope_unit"], ratios)
        d = f["diagnostics"]
        if not d:
            continue
        parts = [f"Durbin-Watson {fit_options.fmt_number(d.get('durbin_watson'))}",
                 f"Ljung-Box p {fit_options.fmt_number(d.get('ljung_box_p'), True)} (lag {d.get('ljung_box_lag')})",
                 f"lag-1 ACF {fit_options.fmt_number(d.get('residual_acf1'))}"] if "ljung_box_p" in d else []
        for key, label in (("rho", "rho"), ("dispersion", "dispersion"), ("alpha", "NB alpha"),
                           ("hac_maxlags", "HAC lags"), ("n_treated", "treated rows"), ("n_control", "control rows")):
            if d.get(key) is not None and not (key == "hac_maxlags" and m["errors"] != "hac"):
                if key == "alpha" and m["family"] != "negbin":
                    continue
                parts.append(f"{label} {fit_options.fmt_number(d[key])}")
        out.append("   diagnostics: " + ", ".join(parts))
        pt = d.get("parallel_trends")
        if pt:
            out.append(f"   parallel trends: pre-period slope difference {fit_options.fmt_number(pt['slope_difference'])} "
                       f"(se {fit_options.fmt_number(pt['se'])}, p {fit_options.fmt_number(pt['p_value'], True)})")
        for w in d.get("warnings", []):
            out.append(f"   warning: {w}")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    fit_figure.check(args)  # a bad --figure path stops before anything is read or fitted
    if args.contrast:  # the contrast column separates series: fit it as a group column
        col = fit_designs.parse_contrast(args.contrast)[0]
        cols = [c.strip() for c in (args.by or "").split(",") if c.strip()]
        args.by = ",".join(cols if col in cols else [*cols, col])
    if args.group_col:  # the treated and control series are told apart by --group-col
        cols = [c.strip() for c in (args.by or "").split(",") if c.strip()]
        args.by = ",".join(cols if args.group_col in cols else [*cols, args.group_col])
    df, by, model = prepare(args)
    if args.contrast:
        df, by, model = fit_designs.apply_contrast(df, by, model, args, args.data)
    keep: dict = {}
    if args.group_col or args.treated:
        fits = _all_failed(fit_multigroup.fit(df, [b for b in by if b != args.group_col], model, args, keep),
                           [b for b in by if b != args.group_col])
    else:
        fits = fit_all(df, by, model, args, keep)
    if args.contrast:
        fit_designs.add_parallel_trends(fits, df, by, model, args, args.frequency)
        for f in fits:  # the contrast is taken after --transform, then fitted as is
            f["model"] = f["model"] | {"contrast_scale": "log(outcome)" if args.transform == "log" else "outcome"}
    out: dict = {"fits": fits}
    if args.pool:
        out["pooled"] = fit_designs.pooled_terms(fits, args.alpha)
    if args.figure:
        fit_figure.draw(args, fits, keep)
        out["figure"] = str(args.figure)
    if args.json:
        print(json.dumps(out, indent=1, allow_nan=False))
    else:
        print(format_table(fits, args.alpha))
        if args.pool:
            print(fit_designs.format_pooled(out["pooled"], args.alpha))
    n_bad = sum("error" in f for f in fits)
    if n_bad:
        print(f"exodus fit: {n_bad} of {len(fits)} group(s) not estimable (see above)", file=sys.stderr)
    return 0
