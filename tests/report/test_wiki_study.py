"""The Wikipedia top-100 study on the shared answer pipeline: the whole chart as the study panel
(censored above depth 100), the outcome-aware answer (attention / log views: no downloads), the
placebo year, and the offline run from a fresh clone."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, timedelta

import polars as pl
import pytest

from analysis.data.sources import top100 as wp
from analysis.data.studies import wikipedia as ws
from analysis.models.checks.placebo_year import fit_placebo_year, year_earlier_panel
from analysis.report.answer.section import headline_text
from analysis.report.answer.table import answer_paragraphs, answer_table, headline_from_answer
from analysis.report.run.preflight import preflight

FOUR = {"Signal", "Parler", "Telegram", "Gab"}
KINDS = {"estimate", "bound", "not_identified"}


@pytest.fixture(scope="module")
def top100():
    return preflight("wiki-top100", {})


def _csv_rows() -> list[dict]:
    rows = []
    for f, *_ in wp.WINDOW_FILES.values():
        with open(wp.DIR / f, newline="", encoding="utf-8") as fh:
            rows += [dict(r, date=date.fromisoformat(r["date"])) for r in csv.DictReader(fh)]
    return rows


def test_study_panel_is_the_whole_chart_so_absent_days_are_censored_not_gaps(top100):
    from analysis.data.censoring import complete_daily

    d, p = top100.data, top100.params
    assert d.outcome == "attention" and d.chart_depth == 100
    per_day = d.panel.group_by("date").len()
    assert per_day["len"].unique().to_list() == [100] and per_day.height == 212
    start, end = date(2020, 12, 1), date(2021, 2, 2)
    grid = complete_daily(d.panel, p.apps, start, end)
    raw = {(r["date"], wp.ARTICLES[r["article"]]): int(r["rank"]) for r in _csv_rows()
           if r["article"] in wp.ARTICLES and start <= r["date"] <= end}
    assert set(grid["status"]) == {"observed", "censored"}  # every chart day is there
    for r in grid.iter_rows(named=True):
        want = raw.get((r["date"], r["app_name"]))
        assert (r["status"], r["rank"]) == (("observed", want) if want is not None else ("censored", None))
    assert sum(1 for (_, a) in raw if a == "Signal") == 10  # 8-17 Jan 2021, from the CSV


def test_fit_study_answers_every_app_and_term_with_a_kind(top100):
    from analysis.models.events.estimates import fit_study

    d, p = top100.data, top100.params
    sf = fit_study(d, p)
    e = sf.effects
    assert FOUR <= set(e["app_name"]) and set(e["kind"]) <= KINDS
    wa = e.filter(pl.col("estimand") == "window_average")
    assert set(wa["window_start"]) == {date(2021, 1, 4)}  # X01's first snapshot, the first event term
    assert wa.filter(pl.col("kind") == "not_identified")["reason"].null_count() == 0
    terms = set(sf.terms["term_id"])
    assert "X04+X05" in terms  # Twitter bans Trump + Google suspends Parler: same first snapshot, one term
    for app in FOUR:  # every term of the design answered for every app (estimate, bound or not identified)
        assert set(e.filter(pl.col("app_name") == app)["event_id"].drop_nulls()) == terms


def _effects(estimate: float, lo: float, hi: float, bound: float, store: str = "wikipedia") -> pl.DataFrame:
    row = dict(app_name="Signal", country="en", store=store, se=0.1, side=None, bound=None, reason=None,
               window_start=date(2021, 1, 4), window_end=date(2021, 1, 17), best_rank=9)
    return pl.DataFrame([
        {**row, "event_id": None, "estimand": "window_average", "kind": "estimate", "estimate": estimate,
         "ci_low": lo, "ci_high": hi},
        {**row, "event_id": "X04+X05", "estimand": "level", "kind": "bound", "estimate": None, "ci_low": None,
         "ci_high": None, "side": "upper", "bound": bound, "reason": "pre-period below the chart"},
    ])


def test_attention_answer_has_no_downloads_and_speaks_of_the_pageview_chart_rank():
    eff = _effects(-0.7, -1.0, -0.4, -0.5)
    a = answer_table(eff, truth=None, synthetic=False, outcome="attention")
    r = answer_table(eff, truth=None, synthetic=False, outcome="rank")
    for c in ("downloads_factor", "downloads_factor_low", "downloads_factor_high"):
        assert a[c].null_count() == a.height and r.filter(pl.col("event_id").is_null())[c].null_count() == 0
    wa = a.filter(pl.col("event_id").is_null()).row(0, named=True)
    assert (wa["estimate"], wa["ci_low"], wa["ci_high"]) == (-0.7, -1.0, -0.4)  # the fit's numbers, unchanged
    assert "by its pageview-chart rank, Signal saw \u00d72.0 more attention (95% CI \u00d71.5\u2013\u00d72.7 more attention)" \
        in wa["sentence"]  # exp(0.7), exp(0.4), exp(1)
    assert "English Wikipedia" in wa["sentence"] and "download" not in " ".join(a["sentence"])
    lev = a.filter(pl.col("event_id") == "X04+X05").row(0, named=True)
    assert lev["ci_high"] == -0.5 and lev["ci_low"] is None
    assert f"saw at least \u00d7{math.exp(0.5):.2g} more attention" in lev["sentence"]


def test_views_answer_reports_log_views_with_positive_meaning_more_attention():
    """wiki-views: the effects are on log(views); the answer keeps their sign and says 'rose'."""
    a = answer_table(_effects(0.7, 0.4, 1.0, 0.5), truth=None, synthetic=False, outcome="views")
    wa = a.filter(pl.col("event_id").is_null()).row(0, named=True)
    assert (wa["estimate"], wa["ci_low"], wa["ci_high"]) == (0.7, 0.4, 1.0)
    assert wa["kind"] == "estimate"  # best_rank is not a chart position on the views scale: no floor
    assert "by its daily pageviews, Signal saw \u00d72.0 more attention (95% CI \u00d71.5\u2013\u00d72.7 more attention)" \
        in wa["sentence"]
    lev = a.filter(pl.col("event_id") == "X04+X05").row(0, named=True)  # upper bound on log views
    assert lev["ci_high"] == 0.5 and f"saw at most \u00d7{math.exp(0.5):.2g} more attention" in lev["sentence"]
    assert a["downloads_factor_low"].null_count() == a.height
    head = headline_from_answer(a, outcome="views")
    assert headline_text(head) == "Signal EN wikipedia: \u00d72.0 (1.5\u20132.7)"
    de = _effects(-0.7, -1.0, -0.4, -0.5).with_columns(pl.lit("de").alias("country"))
    both = answer_table(pl.concat([_effects(0.7, 0.4, 1.0, 0.5), de]), truth=None, synthetic=False, outcome="views")
    para = dict(answer_paragraphs(both, ["Signal"], outcome="views"))["Signal"]
    assert ("German Wikipedia, by its daily pageviews, Signal saw \u00d72.0 less attention "
            "(95% CI \u00d71.5\u2013\u00d72.7 less attention)") in para  # leads (de < en)
    assert "English Wikipedia \u00d72.0 more attention (\u00d71.5\u2013\u00d72.7 more attention)" in para


def test_year_earlier_panel_moves_the_same_weekdays_forward_unchanged(top100):
    panel = top100.data.panel
    moved = year_earlier_panel(panel, date(2020, 12, 1), date(2021, 2, 2))
    src = panel.filter(pl.col("date").is_between(date(2019, 12, 3), date(2020, 2, 4)))
    assert moved.height == src.height == 64 * 100
    assert (moved["date"] - src["date"]).unique().to_list() == [timedelta(days=364)]
    assert (moved["date"].dt.weekday() == src["date"].dt.weekday()).all()
    assert moved.drop("date").equals(src.drop("date"))


def test_placebo_year_fits_the_same_design_a_year_earlier_or_says_why_not(top100):
    p = fit_placebo_year(top100.data, top100.params)
    assert (p.start, p.end) == (date(2019, 12, 3), date(2020, 2, 4)) and p.fit is not None
    assert FOUR <= set(p.fit.effects["app_name"]) and set(p.fit.effects["kind"]) <= KINDS
    demo = preflight("demo", {"apps": "Signal", "countries": "us"})
    none = fit_placebo_year(demo.data, demo.params)
    assert none.fit is None and "no placebo year" in none.note


@pytest.mark.slow
def test_run_wiki_top100_offline_writes_a_real_report_whose_answer_covers_the_four_apps(tmp_path, monkeypatch,
                                                                                        capsys):
    from analysis import cli
    from analysis.report.answer.table import read_answer

    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "no-cache"))
    monkeypatch.setenv("EXODUS_WIKIMEDIA_API", "http://127.0.0.1:9")  # any network use would fail
    assert cli.main(["run", "--study", "wiki-top100"]) == 0
    version = next((tmp_path / "wiki-top100").glob("wiki-top100-*"))
    m = json.loads((version / "manifest.json").read_text())
    assert m["synthetic"] is False and m["status"] == "complete" and "study_effects" not in m
    page = (version / "index.html").read_text()
    assert "SYNTHETIC" not in page and "attention" in page and "not downloads" in page
    answer = read_answer(version / "tables" / "03_summary-answer.csv")
    wa = answer.filter(pl.col("estimand") == "window_average")
    assert FOUR <= set(wa["app_name"]) and set(answer["kind"]) <= KINDS
    assert answer["downloads_factor"].null_count() == answer.height
    assert {h["outcome"] for h in m["headline"]} == {"attention"} and FOUR <= {h["app_name"] for h in m["headline"]}
    placebo = read_answer(version / "tables" / "04_robustness-placebo_year.csv")
    assert FOUR <= set(placebo["app_name"])
    err = capsys.readouterr().err
    assert "The answer (03_summary-answer.csv)" in err and all(f"  {a} " in err for a in FOUR)
    # the headline table comes last, right before the status line (issue 15)
    tail = err[err.index("Headline: the change each group of events caused"):].splitlines()
    assert tail[1].split()[:4] == ["app", "country", "deplatforming", "privacy"] and "report written" in tail[-1]
    attribution = pl.read_csv(version / "tables" / "03_summary-attribution.csv", infer_schema_length=None)
    assert attribution["downloads_factor"].null_count() == attribution.height  # attention, not downloads
    views = pl.read_csv(version / "tables" / "study_views.csv", try_parse_dates=True, infer_schema_length=None)
    assert views.filter(pl.col("app_name") == "Signal", pl.col("date") == date(2021, 1, 10))["views"].to_list() == [199246]
    assert ws.TOP100_DEFAULTS["pre_days"] == m["parameters"]["pre_days"]
    bounds = pl.read_csv(version / "tables" / "03_summary-pageview_bounds.csv", try_parse_dates=True,
                         infer_schema_length=None)
    signal = bounds.filter(pl.col("app_name") == "Signal", pl.col("group") == "all_events").row(0, named=True)
    assert signal["kind"] == "bound" and signal["multiple_low"] == pytest.approx(199246 / 48663, rel=1e-8)
    # the pageview bounds are the study's headline (issue 16): the attribution table is them
    head = attribution.filter(pl.col("app_name") == "Signal", pl.col("group") == "all_events").row(0, named=True)
    assert head["kind"] == "bound" and head["multiple_low"] == pytest.approx(199246 / 48663, rel=1e-8)
    assert "\u2265 \u00d74.1" in tail[2] and "95% interval" not in tail[0]  # Signal's row; no interval claimed
    whatsapp = next(line for line in tail if line.startswith("WhatsApp"))
    assert "no change not excluded" in whatsapp  # 42,227 views < December's highest #100 views


def test_answer_lines_print_estimates_bounds_and_reasons():
    from analysis.report.answer.text import answer_lines

    a = answer_table(_effects(-0.7, -1.0, -0.4, -0.5), truth=None, synthetic=False, outcome="attention")
    ni = a.head(1).with_columns(pl.lit("not_identified").alias("kind"), pl.lit("X. is not identified: no days.")
                                .alias("sentence"), pl.lit("X01").alias("event_id"))
    lines = answer_lines(pl.concat([a, ni]))
    assert lines[2].split() == ["Signal", "en", "-", "window_average", "estimate", "-0.700", "[-1.000,", "-0.400]"]
    assert lines[3].split() == ["Signal", "en", "X04+X05", "level", "bound", "<=", "-0.500", "one-sided"]
    assert lines[4].endswith("not identified: no days")
