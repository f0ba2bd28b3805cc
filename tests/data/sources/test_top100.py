"""The shipped English Wikipedia top-100 slice: checksums, panel, censoring, the study's data.

The study's estimates (the answer pipeline, the placebo year, the offline run) are tested in
``tests/test_wiki_study.py``."""

from __future__ import annotations

import csv
import hashlib
import math
import shutil
from datetime import date

import polars as pl
import pytest

from analysis.data.sources import top100 as wp
from analysis.data.studies import wikipedia as ws
from analysis.errors import DataError


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


def test_study_defaults_select_the_data_and_the_study_is_real():
    from analysis.report.run import runner

    values = runner.check_inputs_only("wiki-top100", {})
    assert values["store"] == "wikipedia" and values["countries"] == ["en"] and values["censored"] is True
    d = ws.load_top100_study()
    assert d.synthetic is False and any("attention" in n for n in d.notes) and any("cannot" in n for n in d.notes)
