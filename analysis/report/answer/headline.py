"""The headline a reviewer reads first: the attribution table, its abstract and short prose.

From the group contrasts of :mod:`analysis.models.events.attribution` (one row per series x group):

- :func:`attribution_table`: the table ``attribution`` (``tables/<notebook>-attribution.csv``),
  columns exactly :data:`COLUMNS`.  ``multiple*`` = exp of the effect in the direction of more
  use (``exp(-x)`` for log ranks: the rank climbs; ``exp(x)`` for log views), so 3.0 means three
  times; ``downloads_factor*`` only for app-store ranks (the rank-downloads law of
  :mod:`analysis.models.downloads.window`, exponent as a range).  A bound keeps its one known
  limit (an upper bound on log rank: ``ci_high`` = ``estimate`` = the bound, ``multiple_low`` its
  multiple, read "at least"); ``not_identified`` rows carry the reason in ``sentence``.
- :func:`headline_frame` / :func:`render_text` / :func:`render_html`: one row per seed app (and
  any selected app) x country, columns *deplatforming*, *privacy shock*, *all events*, each
  "×k (lo–hi)", "≥ ×k" for a bound, "—" with a numbered footnote giving the reason.  Rank
  outcomes add the downloads multiple beside each (HTML).  ``render_html(frame, outcome)`` is the
  reusable entry point (any frame with the :data:`COLUMNS` schema, e.g. pageview-scale bounds).
- :func:`abstract`: three sentences (question, data, answer with the key numbers);
  :func:`app_sentences`: at most two sentences per app, each under 30 words, no symbols.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import polars as pl

from analysis.data import outcome as O
from analysis.data.apps import SEED_APPS, app_order
from analysis.report.answer.sentences import fmt, place

COLUMNS = ("app_name", "country", "store", "group", "kind", "estimate", "ci_low", "ci_high", "multiple",
           "multiple_low", "multiple_high", "downloads_factor", "downloads_factor_low", "downloads_factor_high",
           "true_value", "sentence")
HEADLINE_GROUPS = ("deplatforming", "privacy_shock", "all_events")
LABELS = {"deplatforming": "deplatforming", "privacy_shock": "privacy shock", "all_events": "all events",
          "other": "other events"}
CAUSES = {"deplatforming": "the deplatformings", "privacy_shock": "the privacy shock", "all_events": "all events",
          "other": "the other events"}
DASH, TIMES, GE, LE, EN = "\u2014", "\u00d7", "\u2265", "\u2264", "\u2013"


def _multiples(outcome: str) -> list[pl.Expr]:
    if O.check_outcome(outcome) == "views":
        return [pl.col("estimate").exp().alias("multiple"), pl.col("ci_low").exp().alias("multiple_low"),
                pl.col("ci_high").exp().alias("multiple_high")]
    return [(-pl.col("estimate")).exp().alias("multiple"), (-pl.col("ci_high")).exp().alias("multiple_low"),
            (-pl.col("ci_low")).exp().alias("multiple_high")]


def attribution_table(contrasts: pl.DataFrame, outcome: str = "rank",
                      exponent: tuple[float, float] = (0.8, 1.1), level: float = 0.95) -> pl.DataFrame:
    """The ``attribution`` table (module docstring) from :func:`analysis.models.events.attribution.contrasts`
    (with ``true_value``; null on real data)."""
    from analysis.models.downloads.window import factor_columns

    df = contrasts if "true_value" in contrasts.columns else contrasts.with_columns(
        pl.lit(None, pl.Float64).alias("true_value"))
    df = df.with_columns(_multiples(outcome))
    if O.has_downloads(outcome):
        df = df.with_columns(factor_columns(exponent))
    else:
        df = df.with_columns(pl.lit(None, pl.Float64).alias(c) for c in
                             ("downloads_factor", "downloads_factor_low", "downloads_factor_high"))
    sentences = [row_sentence(r, outcome, level) for r in df.iter_rows(named=True)]
    return df.with_columns(pl.Series("sentence", sentences, dtype=pl.String)).select(COLUMNS)


def legend(table: pl.DataFrame) -> str:
    """How to read the table's cells: "95% interval" only when it holds estimates; bounds from the
    data (the top-100 study's) have no sampling distribution and are never called intervals."""
    parts = ["multiple, above 1 = more use"]
    if (table["kind"] == "estimate").any():
        parts.append("95% interval")
    if (table["kind"] == "bound").any():
        parts.append("\u2265 a bound")
    return "(" + "; ".join(parts) + ")"


def cell(row: dict) -> str:
    """'×3.0 (2.1–4.4)', '≥ ×3.0' (a bound), '≤ ×0.5' or '—' (not identified) for one table row."""
    m, lo, hi = row.get("multiple"), row.get("multiple_low"), row.get("multiple_high")
    if row.get("kind") == "bound" and (lo is not None or hi is not None):
        if lo is None:
            return f"{LE} {TIMES}{fmt(hi)}"
        # a lower bound below x1 cannot exclude "no change": say so instead of implying a rise
        return f"{GE} {TIMES}{fmt(lo)}" + (": no change not excluded" if lo < 1 else "")
    if row.get("kind") != "estimate" or m is None:
        return DASH
    return f"{TIMES}{fmt(m)} ({fmt(lo)}{EN}{fmt(hi)})"


def downloads_cell(row: dict) -> str:
    """The downloads multiple beside a rank cell: 'downloads ×2.6 (1.9–3.8)', '≥ ×2.6' or ''."""
    d, lo, hi = row.get("downloads_factor"), row.get("downloads_factor_low"), row.get("downloads_factor_high")
    if row.get("kind") == "not_identified" or d is None:
        return ""
    if row.get("kind") == "bound":
        return f"downloads {GE} {TIMES}{fmt(lo)}" if lo is not None else f"downloads {LE} {TIMES}{fmt(hi)}"
    return f"downloads {TIMES}{fmt(d)} ({fmt(lo)}{EN}{fmt(hi)})"


def row_sentence(row: dict, outcome: str, level: float = 0.95) -> str:
    """One sentence (under 30 words, no symbols) for a table row; the reason when not identified."""
    if row["kind"] == "not_identified":
        return f"Not identified: {row.get('reason') or 'no estimate'}"
    if row["kind"] == "estimate" and not row.get("se") and row.get("reason"):
        return f"{row['reason'][0].upper()}{row['reason'][1:]}."  # e.g. no event of this group in the window
    who = f"{row['app_name']} in {place(row['country'], row['store'])}"
    cause = CAUSES.get(row["group"], f"the merged term {row['group'].removeprefix('mixed:')}")
    noun = "attention" if outcome != "rank" else "chart position"
    m, lo, hi = row["multiple"], row["multiple_low"], row["multiple_high"]
    if row["kind"] == "bound":
        side = f"at least {fmt(lo)}-fold" if lo is not None else f"at most {fmt(hi)}-fold"
        return f"For {who}, {cause} lifted its {noun} {side} (a bound: the app was below the chart before)."
    pct = round(level * 100)
    verb = f"lifted its {noun} about {fmt(m)}-fold" if m >= 1 else f"cut its {noun} to about {fmt(m)} times"
    return f"For {who}, {cause} {verb} ({pct}% interval {fmt(lo)} to {fmt(hi)})."


def headline_frame(table: pl.DataFrame, apps: Sequence[str] | None = None) -> tuple[pl.DataFrame, list[str]]:
    """(one row per app x country x store with the cells of :data:`HEADLINE_GROUPS` and their
    downloads cells, the footnotes); a '—' cell carries '[n]', footnote n its reason."""
    notes: list[str] = []
    rows = []
    by = {(r["app_name"], r["country"], r["store"], r["group"]): r for r in table.iter_rows(named=True)}
    keys = table.select("app_name", "country", "store").unique()
    order = app_order(apps, keys["app_name"].unique().to_list())
    keys = keys.with_columns(pl.col("app_name").replace_strict({a: i for i, a in enumerate(order)},
                                                               return_dtype=pl.Int64).alias("_o")) \
        .sort("_o", "country", "store")
    for app, country, store, _ in keys.iter_rows():
        out = {"app": app, "country": country.upper() if store != "wikipedia" else country, "store": store}
        for g in HEADLINE_GROUPS:
            r = by.get((app, country, store, g))
            text = cell(r) if r else DASH
            if r is not None and text == DASH:
                why = r["sentence"].removeprefix("Not identified: ")
                if why not in notes:
                    notes.append(why)
                text = f"{DASH} [{notes.index(why) + 1}]"
            out[LABELS[g]] = text
            out[f"{LABELS[g]} downloads"] = downloads_cell(r) if r else ""
        rows.append(out)
    schema = {"app": pl.String, "country": pl.String, "store": pl.String,
              **{k: pl.String for g in HEADLINE_GROUPS for k in (LABELS[g], f"{LABELS[g]} downloads")}}
    return pl.DataFrame(rows, schema=schema), notes


def render_text(table: pl.DataFrame, apps: Sequence[str] | None = None) -> str:
    """The headline as aligned plain text (what ``exodus run`` and ``make report`` print last)."""
    frame, notes = headline_frame(table, apps)
    cols = ["app", "country", *(LABELS[g] for g in HEADLINE_GROUPS)]
    body = [cols] + [[r[c] for c in cols] for r in frame.iter_rows(named=True)]
    widths = [max(len(row[i]) for row in body) for i in range(len(cols))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in body]
    lines += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines)


def render_html(table: pl.DataFrame, outcome: str = "rank", apps: Sequence[str] | None = None,
                caption: str = "") -> str:
    """The headline table as HTML (every string escaped), footnotes below it; downloads multiples
    beside each cell for app-store ranks."""
    frame, notes = headline_frame(table, apps)
    downloads = O.has_downloads(outcome)
    heads = ["App", "Country" if outcome == "rank" else "Edition", *(LABELS[g].capitalize() for g in HEADLINE_GROUPS)]
    th = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    body = []
    for r in frame.iter_rows(named=True):
        tds = [f"<td>{html.escape(r['app'])}</td>", f"<td>{html.escape(r['country'])}</td>"]
        for g in HEADLINE_GROUPS:
            extra = r[f"{LABELS[g]} downloads"] if downloads else ""
            small = f"<br><small>{html.escape(extra)}</small>" if extra else ""
            tds.append(f"<td class='num'>{html.escape(r[LABELS[g]])}{small}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    foot = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (f"<table class='exodus-headline'>{cap}<thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + (f"<ol class='exodus-footnotes'>{foot}</ol>" if foot else ""))


def _best(table: pl.DataFrame, group: str) -> dict | None:
    """The estimated row of ``group`` with the largest multiple whose interval excludes 1."""
    sel = table.filter(pl.col("group") == group, pl.col("kind") == "estimate", pl.col("multiple_low") > 1)
    return sel.sort("multiple", descending=True).row(0, named=True) if sel.height else None


def abstract(table: pl.DataFrame, *, outcome: str, synthetic: bool, n_apps: int, n_countries: int,
             window: str, level: float = 0.95) -> str:
    """Three sentences: the question, the data, the answer with the key numbers."""
    q = ("Did people turn to Signal, Telegram and the alt-tech apps after the deplatformings of January 2021, "
         "net of the WhatsApp privacy notice and Musk's tweet?")
    what = {"rank": "daily app-store chart ranks", "attention": "daily Wikipedia pageview-chart ranks",
            "views": "daily Wikipedia pageviews",
            "dp-views": "daily Wikipedia pageviews per country (differentially private)"}[O.check_outcome(outcome)]
    data = (f"We fit one term per event to {what} of {n_apps} apps in {n_countries} "
            f"{'countries' if outcome in ('rank', 'dp-views') else 'language editions'}"
            f"{' (SYNTHETIC DEMO DATA, not observations)' if synthetic else ''}.")
    parts = []
    pct = round(level * 100)
    for g in ("deplatforming", "privacy_shock"):
        b = _best(table, g)
        if b is not None:
            parts.append(f"{CAUSES[g]} lifted {b['app_name']}'s {'chart position' if outcome == 'rank' else 'attention'}"
                         f" in {place(b['country'], b['store'])} about {fmt(b['multiple'])}-fold ({pct}% interval "
                         f"{fmt(b['multiple_low'])} to {fmt(b['multiple_high'])})")
    if not parts:  # no group separated: say what all events together did, a bound if that is all there is
        b = table.filter(pl.col("group") == "all_events", pl.col("kind") != "not_identified",
                         pl.col("multiple_low") > 1).sort("multiple_low", descending=True)
        if b.height:
            r = b.row(0, named=True)
            parts.append(f"the deplatformings could not be separated from the other events, and all events together "
                         f"lifted {r['app_name']}'s {'chart position' if outcome == 'rank' else 'attention'} in "
                         f"{place(r['country'], r['store'])} at least {fmt(r['multiple_low'])}-fold")
    ans = (f"Over {window}, " + " and ".join(parts) + ".") if parts else \
        f"Over {window}, no group of events moved an app by a clearly identified multiple."
    return f"{q} {data} {ans[0].upper()}{ans[1:]}"


def app_sentences(table: pl.DataFrame, app: str, outcome: str = "rank") -> list[str]:
    """At most two sentences, each under 30 words, no symbols: where the deplatformings and the
    privacy shock clearly moved ``app`` (intervals excluding no change), with the largest multiple."""
    out = []
    noun = "chart position" if outcome == "rank" else "attention"
    for g in ("deplatforming", "privacy_shock"):
        rows = table.filter(pl.col("app_name") == app, pl.col("group") == g)
        if rows.height == 0:
            continue
        up = rows.filter(pl.col("kind") != "not_identified", pl.col("multiple_low") > 1)
        down = rows.filter(pl.col("kind") == "estimate", pl.col("multiple_high") < 1)
        nid = rows.filter(pl.col("kind") == "not_identified").height
        if up.height:
            top = up.sort("multiple_low", descending=True).row(0, named=True)
            s = (f"{CAUSES[g].capitalize()} lifted its {noun} in {up.height} of {rows.height} places, most in "
                 f"{place(top['country'], top['store'])}, at least {fmt(top['multiple_low'])}-fold")
        elif down.height:
            s = f"{CAUSES[g].capitalize()} lowered its {noun} in {down.height} of {rows.height} places"
        else:
            s = f"{CAUSES[g].capitalize()} had no clear effect on its {noun}"
        out.append(s + (f"; {nid} not identified." if nid else "."))
    return out


SCHEMA = {c: (pl.String if c in ("app_name", "country", "store", "group", "kind", "sentence") else pl.Float64)
          for c in COLUMNS}


def read_table(path) -> pl.DataFrame:
    """An ``attribution`` CSV read back with its schema (empty cells are nulls)."""
    return pl.read_csv(path, schema=SCHEMA)


def find_table(version_dir) -> pl.DataFrame | None:
    """The version's ``tables/*-attribution.csv``, or None."""
    from pathlib import Path

    found = sorted(Path(version_dir).glob("tables/*-attribution.csv"))
    return read_table(found[0]) if found else None


def print_headline(version_dir, file) -> None:
    """Print the version's headline table (from ``tables/*-attribution.csv``), if it has one; the
    app order is the run's ``apps`` parameter (manifest) after the seed apps."""
    import json
    from pathlib import Path

    table = find_table(version_dir)
    if table is None:
        return
    try:
        apps = json.loads((Path(version_dir) / "manifest.json").read_text())["parameters"].get("apps")
    except (OSError, ValueError, KeyError):
        apps = None
    print(f"Headline: the change each group of events caused {legend(table)}", file=file)
    print(render_text(table, apps), file=file)


def publish_headline(out, contrasts: pl.DataFrame | None, *, outcome: str = "rank",
                     exponent: tuple[float, float] = (0.8, 1.1), level: float = 0.95,
                     apps: Sequence[str] | None = None, synthetic: bool = False,
                     paths: pl.DataFrame | None = None, terms: pl.DataFrame | None = None,
                     table: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """Notebook call: write the ``attribution`` table and the forest figure, show the headline;
    with ``paths`` and ``terms`` (:class:`analysis.models.events.estimates.StudyFit`), one figure of the
    answer's own model per seed app (``model-<app>``).  ``table``: a headline already in the table's
    columns that replaces the model's contrasts (the top-100 study's pageview bounds,
    :func:`analysis.models.events.pageview_bounds.publish_pageview_bounds`)."""
    from IPython.display import HTML, display

    if table is not None:
        table = table.select(COLUMNS)
    elif contrasts is None or contrasts.height == 0:
        return None
    else:
        table = attribution_table(contrasts, outcome, exponent, level)
    out.table("attribution", table, "Attribution: per series and group of events, the contribution over the "
              "answer's window (fitted minus the counterfactual with the group's terms off), with its interval")
    display(HTML(render_html(table, outcome, apps)))
    from analysis.figures.answer import forest_chart

    out.figure("forest", forest_chart(table, outcome, apps, synthetic),
               "Forest: per app, the multiple of each group of events with its interval, countries side by side "
               "(a bound is a one-sided marker; not identified rows are left out)")
    if paths is not None and terms is not None and paths.height:
        from analysis.data.slug import slug
        from analysis.figures.answer import model_chart

        have = set(paths["app_name"].unique().to_list())
        for app in [a for a in SEED_APPS if a in have]:
            out.figure(f"model-{slug(app)}", model_chart(paths, terms, app, synthetic, outcome),
                       f"{app}: the per-event model the answer uses, per country: one-step-ahead fit before the first "
                       "event, the fitted path and two counterfactuals (no events; privacy shock only) with 95% bands")
    return table


__all__ = ["find_table", "print_headline", "publish_headline", "read_table", "COLUMNS", "abstract", "app_sentences", "attribution_table", "cell", "headline_frame", "render_html",
           "render_text", "row_sentence"]


CSS = ("#answer p.abstract{max-width:60em;line-height:1.5;font-size:1.05em}"
       "table.exodus-headline td.num{white-space:nowrap}table.exodus-headline small{color:#555}"
       "ol.exodus-footnotes{font-size:.85em;max-width:60em;color:#333}"
       "#answer details.exodus-details>summary{font-weight:600;cursor:pointer;margin:.8em 0}")


def _window(window_days: int | None) -> str:
    return f"the {window_days} days from the first event" if window_days else "the window after the first event"


def section_html(table: pl.DataFrame, outcome: str, forest_html: str = "", details_html: str = "",
                 window_days: int | None = None, apps: Sequence[str] | None = None) -> str:
    """The answer section of a report page: the abstract, the headline table with its footnotes,
    the forest figure, at most two sentences per app, then everything else in a collapsible
    "Details" (``details_html``: per-event terms, merges, reasons, the answer table)."""
    synthetic = table["true_value"].is_not_null().any()
    keys = table.select("app_name", "country").unique()
    text = abstract(table, outcome=outcome, synthetic=bool(synthetic), n_apps=keys["app_name"].n_unique(),
                    n_countries=keys["country"].n_unique(), window=_window(window_days))
    order = app_order(apps, keys["app_name"].unique().to_list())
    prose = "".join(f"<p class='answer-app'><b>{html.escape(a)}.</b> {html.escape(' '.join(app_sentences(table, a, outcome)))}</p>"
                    for a in order if app_sentences(table, a, outcome))
    desc = ("<p class='exodus-figdesc'><b>Figure forest.</b> The numbers of the table: per app, the multiple of "
            "each group of events with its 95% interval, countries as colours; triangles are bounds.</p>"
            if forest_html else "")
    caption = ("Headline: how much each group of events moved each app over "
               f"{_window(window_days)} {legend(table)}")
    return (f"<style>{CSS}</style><section id='answer'><h2>The answer</h2><p class='abstract'>{html.escape(text)}</p>"
            + render_html(table, outcome, apps, caption) + forest_html + desc + prose
            + "<details class='exodus-details'><summary>Details: per-event terms, merges, reasons and the answer "
              f"table</summary>{details_html}</details></section>")


def index_html(version_dir) -> str:
    """The abstract and headline table of a version, for the versions index ('' without one)."""
    import json
    from pathlib import Path

    table = find_table(version_dir)
    if table is None:
        return ""
    try:
        m = json.loads((Path(version_dir) / "manifest.json").read_text())
        outcome_notes = pl.read_csv(next(Path(version_dir).glob("tables/*-answer_notes.csv")), infer_schema_length=0)
        found = outcome_notes.filter(pl.col("note") == "outcome")["text"].to_list()
        outcome = found[0] if found else "rank"
        window_days, apps = m["parameters"].get("window_days"), m["parameters"].get("apps")
    except (OSError, ValueError, KeyError, StopIteration):
        outcome, window_days, apps = "rank", None, None
    keys = table.select("app_name", "country").unique()
    text = abstract(table, outcome=outcome, synthetic=bool(table["true_value"].is_not_null().any()),
                    n_apps=keys["app_name"].n_unique(), n_countries=keys["country"].n_unique(),
                    window=_window(window_days))
    return (f"<style>{CSS}</style><p class='abstract'>{html.escape(text)}</p>"
            + render_html(table, outcome, apps, f"Headline {legend(table)}"))
