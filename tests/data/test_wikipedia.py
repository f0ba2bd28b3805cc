"""The shipped English Wikipedia top-100 slice: checksums, panel, censoring, bounds, the study."""

from __future__ import annotations

import csv
import hashlib
import math
import shutil
from datetime import date

import polars as pl
import pytest

from analysis.data import wiki_studies as ws
from analysis.data import wikipedia as wp
from analysis.errors import DataError
from analysis.models.its import ITSSpec
from analysis.models.wiki_effects import SCHEMA, term_id, views_bounds, wiki_effects


@pytest.fixture(scope="module")
def top():
    return wp.load_top100()


def test_sha256sums_match_the_files_and_the_provenance_table():
    sums = wp.read_checksums()
    prov = (wp.DIR / "PROVENANCE.md").read_text()
    for name, h in sums.items():
        assert hashlib.sha256((wp.DIR / name).read_bytes()).hexdigest() == h
        assert f"`{name}`" in prov and f"`{h}`" in prov
    assert "CC0" in (wp.DIR / "LICENSE").read_text()


def test_shipped_files_are_byte_identical_to_the_shared_data(shared_data):
    for name in wp.read_checksums():
        assert (wp.DIR / name).read_bytes() == (shared_data / "wikipedia_top_pageviews" / name).read_bytes()


def test_a_changed_file_is_refused_naming_it_and_both_hashes(tmp_path):
    d = tmp_path / "w"
    shutil.copytree(wp.DIR, d)
    f = d / wp.THRESHOLD_FILE
    f.write_bytes(f.read_bytes().replace(b"40293", b"40294"))
    with pytest.raises(DataError, match=rf"{f}.*SHA-256 {hashlib.sha256(f.read_bytes()).hexdigest()} does not match "
                                        rf"{wp.read_checksums()[wp.THRESHOLD_FILE]}"):
        wp.load_top100(d)


def test_panel_and_views_grid_agree_with_an_independent_csv_read(top):
    """Every mapped article-day from the csv module: ranked rows equal, all other days censored."""
    raw = {}
    for f, *_ in wp.WINDOW_FILES.values():
        with open(wp.DIR / f, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["article"] in wp.ARTICLES:
                    raw[(date.fromisoformat(r["date"]), wp.ARTICLES[r["article"]])] = (int(r["rank"]), int(r["views"]))
    with open(wp.DIR / wp.THRESHOLD_FILE, newline="") as fh:
        thr = {date.fromisoformat(r["date"]): int(r["views_at_rank_100"]) for r in csv.DictReader(fh)}
    assert top.panel.height == len(raw) == 38
    assert top.views.height == len(thr) * len(wp.ARTICLES) == 212 * 6
    for r in top.views.iter_rows(named=True):
        got = raw.get((r["date"], r["app_name"]))
        assert r["threshold"] == thr[r["date"]]
        if got is None:
            assert r["censored"] and r["rank"] is None and r["views"] is None
            assert r["log_value"] == pytest.approx(math.log(thr[r["date"]]))
        else:
            assert (r["rank"], r["views"]) == got and not r["censored"] and r["views"] >= r["threshold"]
    assert set(top.panel["store"]) == {"wikipedia"} and set(top.panel["country"]) == {"en"}


def test_appearances_match_provenance_md(top):
    a = {(r["app_name"], r["window"]): r for r in wp.appearances(top.views).iter_rows(named=True)}
    assert (a["Signal", "A"]["days"], a["Signal", "A"]["best_rank"], a["Signal", "A"]["max_views"]) == (10, 9, 199246)
    assert (a["Parler", "A"]["days"], a["Parler", "A"]["best_rank"], a["Parler", "A"]["max_views"]) == (13, 2, 367076)
    assert (a["Telegram", "A"]["days"], a["Telegram", "A"]["best_rank"]) == (6, 50)
    assert (a["Gab", "A"]["days"], a["Gab", "A"]["best_rank"]) == (4, 16)
    assert (a["WhatsApp", "B"]["days"], a["WhatsApp", "B"]["best_rank"]) == (2, 53)
    assert ("Signal", "B") not in a
    parler_nov = top.views.filter(pl.col("app_name") == "Parler", ~pl.col("censored"), pl.col("date") < date(2020, 12, 1))
    assert tuple(parler_nov["date"]) == wp.PARLER_NOVEMBER


SPEC = ITSSpec(date(2021, 1, 8), 38, 30, errors="hac", censored=True, chart_depth=100)


def test_effects_follow_the_contract_and_bound_signal_by_hand(top):
    e = wiki_effects(top.views, SPEC, ws.load_top100_study().events)
    assert dict(e.schema) == SCHEMA
    assert set(e["app_name"]) == set(wp.ARTICLES.values())
    sig = e.filter(pl.col("app_name") == "Signal").row(0, named=True)
    ranks = {date(2021, 1, 8): 39, date(2021, 1, 9): 9, date(2021, 1, 10): 9}  # first three days, from the CSV
    got = top.views.filter(pl.col("app_name") == "Signal", ~pl.col("censored"))
    assert {d: r for d, r in zip(got["date"], got["rank"], strict=True) if d in ranks} == ranks
    by_hand = sum(math.log(r) - math.log(100.5) for r in got["rank"]) / 30  # 10 ranked days, 20 censored (0)
    assert sig["kind"] == "bound" and sig["side"] == "upper" and sig["bound"] == pytest.approx(by_hand)
    assert sig["best_rank"] == 9 and sig["estimate"] is None and sig["window_end"] == date(2021, 2, 6)
    assert "0 of 38 pre-period days" in sig["reason"]


def test_views_bound_is_the_mirror_image_on_the_views_scale(top):
    b = views_bounds(top.views, SPEC).filter(pl.col("app_name") == "Signal").row(0, named=True)
    g = top.views.filter(pl.col("app_name") == "Signal", ~pl.col("censored"))
    want = sum(math.log(v / t) for v, t in zip(g["views"], g["threshold"], strict=True)) / 30
    assert b["log_views_lower_bound"] == pytest.approx(want) and b["days_ranked"] == 10


def test_an_estimable_series_gets_estimates_and_a_window_average(top):
    """Make a synthetic always-ranked series (known +level) to exercise the estimate branch."""
    days = pl.date_range(SPEC.start, SPEC.end, "1d", eager=True)
    rank = [60 if d < SPEC.intervention else 20 for d in days]
    rank = [r + (i % 3) for i, r in enumerate(rank)]
    g = pl.DataFrame({"date": days, "app_name": "X", "country": "en", "rank": rank})
    e = wiki_effects(g, SPEC, ws.load_top100_study().events)
    lev = e.filter(pl.col("estimand") == "level").row(0, named=True)
    assert lev["kind"] == "estimate" and lev["ci_low"] < math.log(21 / 61) < lev["ci_high"]
    wa = e.filter(pl.col("estimand") == "window_average").row(0, named=True)
    assert wa["kind"] == "estimate" and wa["ci_low"] <= wa["estimate"] <= wa["ci_high"]


def test_term_id_names_the_events_of_the_utc_day_and_the_evening_before():
    ev = ws.load_top100_study().events
    assert term_id(ev, date(2021, 1, 8)) == "X03+X04+X05"


def test_study_defaults_select_the_data_and_the_study_is_real():
    from analysis.report import run as runner

    values = runner.check_inputs_only("wiki-top100", {})
    assert values["store"] == "wikipedia" and values["countries"] == ["en"] and values["censored"] is True
    d = ws.load_top100_study()
    assert d.synthetic is False and any("attention" in n for n in d.notes) and any("cannot" in n for n in d.notes)


def test_placebo_year_has_no_article_in_the_chart_so_every_bound_is_zero(top):
    from analysis.models.wiki_effects import placebo_year

    p = placebo_year(top.views, SPEC, ws.load_top100_study().events)
    assert p["window_start"].unique().to_list() == [date(2020, 1, 10)]
    assert p["kind"].unique().to_list() == ["bound"] and p["bound"].to_list() == [0.0] * 6


@pytest.mark.slow
def test_run_wiki_top100_offline_writes_a_real_report_with_the_answer(tmp_path, monkeypatch):
    from analysis import cli

    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "no-cache"))
    assert cli.main(["run", "--study", "wiki-top100"]) == 0
    version = next((tmp_path / "wiki-top100").glob("wiki-top100-*"))
    import json

    m = json.loads((version / "manifest.json").read_text())
    assert m["synthetic"] is False and m["status"] == "complete"
    page = (version / "index.html").read_text()
    assert "SYNTHETIC" not in page and "attention" in page and "not downloads" in page
    got = {r["app_name"]: r for r in m["study_effects"]}
    assert {"Signal", "Parler", "Telegram", "Gab"} <= set(got)
    assert all(r["kind"] in ("estimate", "bound") for r in got.values())
    assert got["Signal"]["bound"] == pytest.approx(
        wiki_effects(wp.load_top100().views, SPEC, ws.load_top100_study().events)
        .filter(pl.col("app_name") == "Signal")["bound"][0])
    views = pl.read_csv(version / "tables" / "study_views.csv", try_parse_dates=True, infer_schema_length=None)
    assert views.filter(pl.col("app_name") == "Signal", pl.col("date") == date(2021, 1, 10))["views"].to_list() == [199246]
