""""The answer": written by a notebook, read back by the report pages and the manifest.

A notebook calls :func:`publish_answer` once with the Effects frame; it writes the tables
``answer``, ``truth_coverage`` (synthetic studies), ``exponent_check`` and ``answer_notes`` and
the figure ``decomposition`` through the notebook's :class:`analysis.report.page.outputs.Outputs`.
After the run, :func:`load_answer_section` reads them back from the version directory (the
table named ``answer`` is found as ``tables/<notebook>-answer.csv``), and :func:`answer_html`
renders the section that opens the report page; :func:`headline_text` gives the one-line
headline of the versions index.  Every string from data is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.data import outcome as O
from analysis.report.answer.sentences import fmt
from analysis.report.answer.table import (
    answer_paragraphs,
    answer_table,
    headline_from_answer,
    merged_note,
    read_answer,
    truth_coverage,
)
from analysis.report.run.storage import read_spec


@dataclass(frozen=True)
class AnswerSection:
    """Everything the page's opening section shows."""

    paragraphs: list[tuple[str, str]]
    answer: pl.DataFrame
    coverage: pl.DataFrame | None
    notes: list[str]
    figure_spec: dict | None
    figure_svg: str | None  # path relative to the version directory
    outcome: str = "rank"  # what the effects measure (analysis.data.outcome)
    attribution: pl.DataFrame | None = None  # tables/*-attribution.csv (analysis.report.answer.headline)
    forest_spec: dict | None = None
    forest_svg: str | None = None


def publish_answer(out, effects: pl.DataFrame, *, truth: pl.DataFrame | None, synthetic: bool,
                   exponent_range: tuple[float, float], apps: Sequence[str] | None = None,
                   reported_dir: str | Path | None = None, events: pl.DataFrame | None = None,
                   level: float = 0.95, outcome: str = "rank") -> pl.DataFrame:
    """Build, show and save the answer from an Effects frame (one call in a notebook).

    ``outcome`` (:mod:`analysis.data.outcome`): ``"rank"`` for app-store charts (with downloads
    multiples and the exponent check), ``"attention"`` / ``"views"`` for pageview studies (no
    downloads; the sentences speak of attention).  It is saved in ``answer_notes`` (note
    ``outcome``) so the report pages read the answer back on the same scale."""
    from IPython.display import HTML, display

    from analysis.figures.decomposition import decomposition_chart
    from analysis.models.downloads.exponent_check import exponent_check

    if events is None:
        from analysis.data.events import load_events

        events = load_events()
    answer = answer_table(effects, truth=truth, synthetic=synthetic, exponent_range=exponent_range, events=events,
                          level=level, outcome=outcome)
    paragraphs = answer_paragraphs(answer, apps, events, outcome)
    display(HTML("".join(f"<p><b>{html.escape(a)}.</b> {html.escape(t)}</p>" for a, t in paragraphs)))
    out.figure("decomposition", decomposition_chart(answer, events, synthetic, level, scale=O.SCALES[outcome]),
               f"Per app and country: each event term's {O.SCALES[outcome]} with its interval, bounds as "
               "one-sided triangles, and the window-average effect (all events together).")
    out.table("answer", answer, "The answer: one row per app x country x store x event x estimand")
    if synthetic and truth is not None:
        out.table("truth_coverage", truth_coverage(answer),
                  f"Share of the answer's {round(level * 100)}% intervals covering the known truth (non-zero truths)")
    merged = merged_note(answer, events)
    notes = {"outcome": outcome, **({"merged_events": merged} if merged else {})}
    if O.has_downloads(outcome):
        check = exponent_check(reported_dir, exponent_range)
        out.table("exponent_check", check.table, "Implied rank-downloads exponents from press-reported figures")
        notes["downloads_exponent_check"] = check.sentence
    else:
        notes["attention_not_downloads"] = O.NOTES[outcome]
    out.table("answer_notes", pl.DataFrame({"note": list(notes), "text": list(notes.values())}),
              "Notes stated with the answer (note 'outcome': the scale of the effects)")
    return answer


def _one(version_dir: Path, pattern: str) -> Path | None:
    found = sorted(version_dir.glob(pattern))
    return found[0] if found else None


def load_answer_section(version_dir: str | Path, apps: Sequence[str] | None = None,
                        events: pl.DataFrame | None = None) -> AnswerSection | None:
    """Read the answer back from a (finished or building) version directory; None if absent."""
    d = Path(version_dir)
    path = _one(d, "tables/*-answer.csv")
    if path is None:
        return None
    answer = read_answer(path)
    cov_path = _one(d, "tables/*-truth_coverage.csv")
    notes_path = _one(d, "tables/*-answer_notes.csv")
    notes = pl.read_csv(notes_path, infer_schema_length=0) if notes_path else pl.DataFrame(
        schema={"note": pl.String, "text": pl.String})
    found = notes.filter(pl.col("note") == "outcome")["text"].to_list()
    outcome = O.check_outcome(found[0]) if found else "rank"
    spec_path = _one(d, "figures/*-decomposition.vl.json*")
    svg = _one(d, "figures/*-decomposition.svg")
    from analysis.report.answer.headline import find_table

    forest = _one(d, "figures/*-forest.vl.json*")
    forest_svg = _one(d, "figures/*-forest.svg")
    return AnswerSection(
        paragraphs=answer_paragraphs(answer, apps, events, outcome),
        answer=answer,
        coverage=pl.read_csv(cov_path) if cov_path else None,
        notes=notes.filter(pl.col("note") != "outcome")["text"].to_list(),
        figure_spec=read_spec(spec_path) if spec_path else None,
        figure_svg=str(svg.relative_to(d)) if svg else None,
        outcome=outcome,
        attribution=find_table(d),
        forest_spec=read_spec(forest) if forest else None,
        forest_svg=str(forest_svg.relative_to(d)) if forest_svg else None,
    )


def _cell(v: object) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.4g}"
    return html.escape("" if v is None else str(v))


def frame_html(df: pl.DataFrame, caption: str) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in df.iter_rows())
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def paragraphs_html(paragraphs: Sequence[Sequence[str]], notes: Sequence[str] = ()) -> str:
    ps = "".join(f"<p class='answer-app'><b>{html.escape(a)}.</b> {html.escape(t)}</p>" for a, t in paragraphs)
    return ps + "".join(f"<p class='answer-note'>{html.escape(n)}</p>" for n in notes)


def answer_html(section: AnswerSection, chart: str = "", window_days: int | None = None) -> str:
    """The opening section: paragraphs, notes (the downloads-exponent check), the decomposition
    figure (``chart``: its HTML, e.g. :func:`analysis.report.page.display.spec_html`), truth coverage
    and the answer table (window averages shown, every row in a collapsible table)."""
    desc = ("<p class='exodus-figdesc'><b>Figure decomposition.</b> Per app and country: each event term's effect on "
            "log(rank) with its interval (bounds as one-sided triangles), and the window-average effect of all events "
            "together against the pre-period forecast.</p>") if chart else ""
    parts = ["<section id='answer'><h2>The answer</h2>", paragraphs_html(section.paragraphs, section.notes), chart,
             desc]
    if section.coverage is not None:
        parts.append(frame_html(section.coverage, "Truth coverage: share of the answer's intervals covering the "
                                "known true effect, over non-zero truths (not identified terms counted apart)"))
    wa = section.answer.filter(pl.col("estimand") == "window_average").drop("event_id", "sentence")
    caption = ("Window-average effects (log rank; downloads multiples under the rank-downloads law)"
               if O.has_downloads(section.outcome) else f"Window-average effects ({O.SCALES[section.outcome]}; "
               "attention, not downloads: no downloads multiple)")
    parts.append(frame_html(wa, caption))
    parts.append("<details><summary>Every row of the answer table (per event and estimand, with sentences)</summary>"
                 + frame_html(section.answer, "The answer table") + "</details></section>")
    if section.attribution is not None:  # the headline opens the section, the rest folds into Details
        from analysis.report.answer.headline import section_html
        from analysis.report.page.display import spec_html

        forest = spec_html(section.forest_spec) if section.forest_spec else ""
        details = "".join(parts).removeprefix("<section id='answer'><h2>The answer</h2>").removesuffix("</section>")
        return section_html(section.attribution, section.outcome, forest, details, window_days)
    return "".join(parts)


def headline_text(headline: Sequence[dict], n: int = 4) -> str:
    """'Signal US ios: x40 (25-60); ...' from manifest headline rows (multiples, up = climbed or
    more views: the row's ``outcome``)."""
    def one(h: dict) -> str:
        est, lo, hi = O.to_rank_scale(h.get("estimate"), h.get("ci_low"), h.get("ci_high"), h.get("outcome", "rank"))
        if h.get("kind") == "not_identified":
            return f"{h['series']}: not identified"
        if lo is None and hi is not None:
            return f"{h['series']}: at least \u00d7{fmt(math.exp(-hi))}"
        if hi is None and lo is not None:
            return f"{h['series']}: at most \u00d7{fmt(math.exp(-lo))}"
        return f"{h['series']}: \u00d7{fmt(math.exp(-est))} ({fmt(math.exp(-hi))}\u2013{fmt(math.exp(-lo))})"
    return "; ".join(one(h) for h in list(headline)[:n])


__all__ = ["AnswerSection", "publish_answer", "load_answer_section", "answer_html", "headline_text",
           "headline_from_answer", "paragraphs_html"]
