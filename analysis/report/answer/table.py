"""The answer: one table of per-event and window-average effects, in numbers and sentences.

Input is the Effects frame of :mod:`analysis.models.events.design` (one row per series x
estimand; :data:`analysis.models.events.fit.EFFECTS_SCHEMA`): log-rank effects (negative = climbed the chart),
``kind`` estimate | bound | not_identified.  :func:`answer_table` turns it into the table named
``answer`` (``tables/<notebook>-answer.csv``), with exactly :data:`ANSWER_COLUMNS`:

- a **bound** is a one-sided interval: an upper bound ``L <= B`` has ``ci_high = B`` and an empty
  ``ci_low`` (a lower bound the reverse); ``estimate`` is empty unless the estimator gave one;
- a **window average of an app that reached #1** (``best_rank == 1``) is a bound: the rank is
  floored at 1, so the observed climb understates the latent one (Tobin 1958 on censored
  outcomes); its ``ci_low`` is emptied and the downloads multiple is a lower bound;
- downloads multiples (``downloads_factor*``) are filled for window averages only
  (:mod:`analysis.models.downloads.window`), and only when the outcome is an app-store rank
  (``outcome="rank"``); pageview studies (``"attention"``, ``"views"``; see
  :mod:`analysis.data.outcome`) leave them empty and their sentences speak of attention;
- ``true_value`` (synthetic studies) joins the demo truth on
  ``(app_name, country, store, event_id, estimand)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from analysis.data import outcome as O
from analysis.data.apps import SEED_APPS
from analysis.errors import InputError
from analysis.models.downloads.window import DEFAULT_EXPONENT, check_exponent, factor_columns
from analysis.report.answer import sentences as S

ANSWER_COLUMNS = ("app_name", "country", "store", "event_id", "estimand", "kind", "estimate", "ci_low", "ci_high",
                  "downloads_factor", "downloads_factor_low", "downloads_factor_high", "true_value", "sentence")
ANSWER_SCHEMA = {c: pl.String for c in ("app_name", "country", "store", "event_id", "estimand", "kind", "sentence")} | {
    c: pl.Float64 for c in ("estimate", "ci_low", "ci_high", "downloads_factor", "downloads_factor_low",
                            "downloads_factor_high", "true_value")}
KINDS = ("estimate", "bound", "not_identified")
ESTIMANDS = ("level", "slope", "decay", "window_average")
KEY = ("app_name", "country", "store", "event_id", "estimand")
REQUIRED = ("app_name", "country", "store", "event_id", "estimand", "kind", "estimate", "ci_low", "ci_high")
OPTIONAL = {"se": pl.Float64, "side": pl.String, "bound": pl.Float64, "reason": pl.String,
            "window_start": pl.Date, "window_end": pl.Date, "best_rank": pl.Int64}


def _fail(df: pl.DataFrame, bad: pl.Expr, column: str, message: str) -> None:
    rows = df.with_row_index("_r", offset=1).filter(bad.fill_null(True))
    if rows.height:
        first = rows.row(0, named=True)
        raise InputError(f"effects frame: column {column!r}, row {first['_r']} "
                         f"({first['app_name']} {first['country']} {first['store']} {first['event_id']} "
                         f"{first['estimand']}): {message}" + (f" ({rows.height} rows)" if rows.height > 1 else ""))


def check_effects(effects: pl.DataFrame) -> pl.DataFrame:
    """Validate an Effects frame (contract columns, kinds, the numbers each kind needs); add the
    optional columns as empty.  Problems name the column and the (1-based) row."""
    missing = [c for c in REQUIRED if c not in effects.columns]
    if missing:
        raise InputError(f"effects frame: missing column(s) {missing}; expected the Effects contract {REQUIRED}")
    df = effects.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in OPTIONAL.items() if c not in effects.columns)
    df = df.with_columns(pl.col("event_id").cast(pl.String), pl.col("best_rank").cast(pl.Int64))
    _fail(df, ~pl.col("kind").is_in(KINDS), "kind", f"unknown kind; expected one of {KINDS}")
    _fail(df, ~pl.col("estimand").is_in(ESTIMANDS), "estimand", f"unknown estimand; expected one of {ESTIMANDS}")
    _fail(df, (pl.col("estimand") == "window_average") != pl.col("event_id").is_null(), "event_id",
          "must be empty exactly for the window average")
    est = pl.col("kind") == "estimate"
    for c in ("estimate", "ci_low", "ci_high"):
        _fail(df, ~(~est | pl.col(c).is_finite()), c, "an estimate needs a finite value")
    _fail(df, ~(~est | (pl.col("ci_low") <= pl.col("ci_high"))), "ci_low", "ci_low is above ci_high")
    bound = pl.col("kind") == "bound"
    _fail(df, ~(~bound | pl.col("side").is_in(["upper", "lower"])), "side", "a bound needs side 'upper' or 'lower'")
    _fail(df, ~(~bound | pl.col("bound").is_finite()), "bound", "a bound needs a finite value")
    _fail(df, pl.struct(KEY).is_duplicated(), "event_id", "duplicate series x event x estimand row")
    return df


def _encode(df: pl.DataFrame) -> pl.DataFrame:
    """Bounds as one-sided intervals; window averages at #1 become lower bounds on the climb."""
    bound, side = pl.col("kind") == "bound", pl.col("side")
    floored = (pl.col("kind") == "estimate") & (pl.col("estimand") == "window_average") & (pl.col("best_rank") == 1)
    return df.with_columns(
        pl.when(bound).then(None).otherwise(pl.col("estimate")).alias("estimate"),
        pl.when(bound).then(pl.when(side == "lower").then(pl.col("bound")))
        .when(floored).then(None).otherwise(pl.col("ci_low")).alias("ci_low"),
        pl.when(bound).then(pl.when(side == "upper").then(pl.col("bound"))).otherwise(pl.col("ci_high")).alias("ci_high"),
        pl.when(floored).then(pl.lit("bound")).otherwise(pl.col("kind")).alias("kind"),
    ).with_columns(pl.when(pl.col("kind") == "not_identified").then(None).otherwise(pl.col(c)).alias(c)
                   for c in ("estimate", "ci_low", "ci_high"))


def _truth(df: pl.DataFrame, truth: pl.DataFrame | None, synthetic: bool) -> pl.DataFrame:
    if not synthetic or truth is None:
        return df.with_columns(pl.lit(None, dtype=pl.Float64).alias("true_value"))
    t = truth if "event_id" in truth.columns else truth.with_columns(pl.lit(None, dtype=pl.String).alias("event_id"))
    miss = [c for c in (*KEY, "true_value") if c not in t.columns]
    if miss:
        raise InputError(f"truth frame: missing column(s) {miss}")
    t = t.select(*KEY, pl.col("true_value").cast(pl.Float64)).with_columns(pl.col("event_id").cast(pl.String))
    if t.select(pl.struct(KEY).is_duplicated().any()).item():
        raise InputError("truth frame: duplicate (app_name, country, store, event_id, estimand) rows")
    return df.join(t, on=list(KEY), how="left", nulls_equal=True)


def answer_table(effects: pl.DataFrame, *, truth: pl.DataFrame | None, synthetic: bool,
                 exponent_range: tuple[float, float] = DEFAULT_EXPONENT, events: pl.DataFrame | None = None,
                 level: float = 0.95, outcome: str = "rank") -> pl.DataFrame:
    """The ``answer`` table (module docstring): one row per app x country x store x event x estimand,
    window averages first, then the event terms in id order; ``sentence`` generated from the row."""
    if events is None:
        from analysis.data.events import load_events

        events = load_events()
    exponent = check_exponent(exponent_range)
    names = S.event_names(events)
    df = check_effects(effects)
    if O.check_outcome(outcome) == "views":  # no chart floor: the views "rank" is not a position
        df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias("best_rank"))
    df = _encode(df)
    wa = (pl.col("estimand") == "window_average") & pl.lit(O.has_downloads(outcome))
    df = df.with_columns(pl.when(wa).then(e).otherwise(None).alias(e.meta.output_name())
                         for e in factor_columns(exponent))
    df = _truth(df, truth, synthetic).sort("app_name", "country", "store", pl.col("event_id").is_not_null(),
                                           "event_id", "estimand")
    terms = (df.filter(pl.col("event_id").is_not_null()).group_by("app_name", "country", "store")
             .agg(pl.col("event_id").unique().sort().alias("_terms")))
    df = df.join(terms, on=["app_name", "country", "store"], how="left")
    sent = []
    for r in df.iter_rows(named=True):
        if r["event_id"] is None:
            sent.append(S.window_sentence(r, exponent, level, outcome))
        else:
            others = [t for t in (r["_terms"] or []) if t != r["event_id"]]
            sent.append(S.event_sentence(r, names, others, level, outcome))
    return df.with_columns(pl.Series("sentence", sent, dtype=pl.String)).select(
        [pl.col(c).cast(ANSWER_SCHEMA[c]) for c in ANSWER_COLUMNS])


def read_answer(path) -> pl.DataFrame:
    """Read an ``answer`` CSV back with its schema (empty cells are nulls)."""
    df = pl.read_csv(path, schema_overrides=ANSWER_SCHEMA, infer_schema_length=0)
    if tuple(df.columns) != ANSWER_COLUMNS:
        raise InputError(f"{path}: columns {df.columns} are not the answer table's {list(ANSWER_COLUMNS)}")
    return df.with_columns(pl.col(c).replace("", None) for c in ("event_id",))


def truth_coverage(answer: pl.DataFrame, by: Sequence[str] = ("app_name",), tol: float = 1e-9,
                   apps: Sequence[str] | None = None) -> pl.DataFrame:
    """Share of the answer's intervals that cover the known truth, over non-zero truths.

    Estimates count when ``ci_low <= truth <= ci_high``; bounds (one-sided intervals) when the
    truth is on their side.  Not-identified rows have no interval: counted apart
    (``n_not_identified``), never as covered.  One row per ``by`` group and an ``all`` row;
    ``apps`` restricts the count (e.g. to the migration apps).
    """
    t = answer.filter(pl.col("true_value").is_not_null() & (pl.col("true_value").abs() > tol))
    if apps is not None:
        t = t.filter(pl.col("app_name").is_in(list(apps)))
    lo_ok = pl.col("ci_low").is_null() | (pl.col("ci_low") <= pl.col("true_value"))
    hi_ok = pl.col("ci_high").is_null() | (pl.col("true_value") <= pl.col("ci_high"))
    t = t.with_columns((lo_ok & hi_ok & (pl.col("kind") != "not_identified")).alias("_cov"))
    aggs = [(pl.col("kind") != "not_identified").sum().alias("n"), pl.col("_cov").sum().alias("n_covered"),
            (pl.col("kind") == "estimate").sum().alias("n_estimate"), (pl.col("kind") == "bound").sum().alias("n_bound"),
            (pl.col("kind") == "not_identified").sum().alias("n_not_identified")]
    groups = t.group_by(list(by)).agg(aggs).sort(list(by)) if t.height else pl.DataFrame(
        schema={**{b: pl.String for b in by}, **{a.meta.output_name(): pl.UInt32 for a in aggs}})
    overall = t.select(aggs).with_columns(pl.lit("all").alias(b) for b in by)
    out = pl.concat([groups.with_columns(pl.col(c).cast(pl.Int64) for c in groups.columns if c not in by),
                     overall.select(groups.columns).with_columns(
                         pl.col(c).cast(pl.Int64) for c in groups.columns if c not in by)])
    cov = pl.when(pl.col("n") > 0).then(pl.col("n_covered") / pl.col("n"))
    return out.with_columns(cov.alias("coverage")).select(*by, "n", "n_covered", "coverage", "n_estimate",
                                                          "n_bound", "n_not_identified")


def _apps(apps: Sequence[str] | None) -> list[str]:
    return list(dict.fromkeys([*SEED_APPS, *(apps or [])]))


def _lead(rows: pl.DataFrame) -> dict | None:
    """The series a paragraph leads with: identified before not identified, then the US, then
    the App Store."""
    wa = rows.filter(pl.col("estimand") == "window_average")
    if not wa.height:
        return None
    order = wa.with_columns((pl.col("kind") == "not_identified").alias("_k"), (pl.col("country") != "us").alias("_c"),
                            (pl.col("store") != "ios").alias("_s"))
    return order.sort("_k", "_c", "_s", "country", "store").row(0, named=True)


def _compact(r: dict, outcome: str = "rank") -> str:
    """'the UK (App Store) ×3.3 more use (95% CI ×2.2–×5.0 more use)': a window average in the
    sentences' direction convention (:func:`analysis.report.answer.sentences.direction`)."""
    where = S.place(r["country"], r["store"])
    if r["kind"] == "not_identified":
        return f"{where} not identified"
    word = S.USE_WORDS[outcome]
    est, lo, hi = O.to_rank_scale(r["estimate"], r["ci_low"], r["ci_high"], outcome)
    if lo is None:
        return f"{where} {S._at_least(math.exp(-hi), word)}"
    if hi is None:
        return f"{where} {S._at_most(math.exp(-lo), word)}"
    return f"{where} {S.direction(math.exp(-est), word)} ({S._span(math.exp(-hi), math.exp(-lo), word)})"


def answer_paragraphs(answer: pl.DataFrame, apps: Sequence[str] | None = None,
                      events: pl.DataFrame | None = None, outcome: str = "rank") -> list[tuple[str, str]]:
    """One short paragraph per seed app (:data:`SEED_APPS`) and per app in ``apps``.

    It leads with the window-average sentence of the app's US App Store series (or the first
    series shown), adds the deplatforming term of that series with the largest effect, the
    window averages elsewhere as rank multiples, and how many terms are not identified (each
    reason is in the table).  Which events the data cannot separate is said once for all apps
    (:func:`merged_note`).  An app without series says so: never dropped.
    """
    if events is None:
        from analysis.data.events import load_events

        events = load_events()
    names = S.event_names(events)
    out = []
    for app in _apps(apps):
        rows = answer.filter(pl.col("app_name") == app)
        lead = _lead(rows)
        if lead is None:
            out.append((app, f"{app}: no window-average estimate in this run (the app is not among the series "
                             "selected, or the data hold none of its series)."))
            continue
        parts = [lead["sentence"]]
        same = rows.filter(pl.col("country") == lead["country"], pl.col("store") == lead["store"],
                           pl.col("event_id").is_not_null(), pl.col("estimand") != "slope")
        dep_terms = [t for t in same["event_id"].unique().to_list()
                     if any(k in S.DEPLATFORMING_KINDS for k in S.term_kinds(t, names))]
        dep = same.filter(pl.col("event_id").is_in(dep_terms), pl.col("kind") != "not_identified")
        if dep.height:
            mag = pl.coalesce("estimate", "ci_high", "ci_low").abs()
            parts.append(dep.sort(mag, descending=True).row(0, named=True)["sentence"])
        others = rows.filter(pl.col("estimand") == "window_average",
                             (pl.col("country") != lead["country"]) | (pl.col("store") != lead["store"]))
        shown = others.filter(pl.col("kind") != "not_identified")
        if shown.height:
            parts.append(f"Elsewhere, by {O.NOUNS[outcome]} against the forecast (95% CI): "
                         + "; ".join(_compact(r, outcome) for r in shown.iter_rows(named=True)) + ".")
        if others.height > shown.height:
            parts.append(f"The window average is not identified in {others.height - shown.height} other series "
                         "(each reason is in the answer table).")
        ni = rows.filter(pl.col("kind") == "not_identified")
        if ni.height:
            parts.append(f"{ni.height} term(s) are not identified (see the answer table for each reason).")
        out.append((app, " ".join(parts)))
    return out


def merged_note(answer: pl.DataFrame, events: pl.DataFrame | None = None) -> str:
    """One sentence naming the event terms the data cannot separate (merged: ``X04+X05``), said
    once above the paragraphs rather than in each; empty when nothing was merged."""
    if events is None:
        from analysis.data.events import load_events

        events = load_events()
    names = S.event_names(events)
    merged = sorted({t for t in answer["event_id"].drop_nulls().to_list() if "+" in t})
    if not merged:
        return ""
    return ("The data cannot separate these events (they first show on the same daily chart snapshot), so each "
            "group is estimated as one term: " + "; ".join(S.event_label(t, names) for t in merged) + ".")


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.6g}")


def headline_from_answer(answer: pl.DataFrame, apps: Sequence[str] | None = None, outcome: str = "rank") -> list[dict]:
    """The manifest's headline: every window-average row of the answer table, seed apps first,
    the US first within an app; JSON-safe (no NaN)."""
    order = {a: i for i, a in enumerate(_apps(apps))}
    wa = answer.filter(pl.col("estimand") == "window_average").with_columns(
        pl.col("app_name").replace_strict(order, default=len(order), return_dtype=pl.Int64).alias("_o"),
        (pl.col("country") != "us").alias("_c"))
    return [{"series": f"{r['app_name']} {r['country'].upper()} {r['store']}", "app_name": r["app_name"],
             "country": r["country"], "store": r["store"], "kind": r["kind"], "outcome": outcome,
             **{c: _num(r[c]) for c in ("estimate", "ci_low", "ci_high", "downloads_factor_low",
                                        "downloads_factor_high", "true_value")},
             "sentence": r["sentence"]}
            for r in wa.sort("_o", "app_name", "_c", "country", "store").iter_rows(named=True)]
