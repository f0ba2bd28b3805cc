"""Comparing versions in the answer's terms: multiples and bounds as text, changed parameters
against the study's defaults, and a default pair from one study."""

from __future__ import annotations

import math

import polars as pl
import pytest

from analysis.params import StudyParams
from analysis.report.answer.sentences import fmt
from analysis.report.page import compare as C


def test_multiple_text_formats_estimates_bounds_and_not_identified():
    assert C.multiple_text("estimate", 40.3, 25.2, 60.0) == "\u00d740 (25\u201360)"
    assert C.multiple_text("estimate", 0.94, 0.85, 1.05) == "\u00d70.94 (0.85\u20131.1)"
    assert C.multiple_text("bound", None, 25.0, None) == "\u2265 \u00d725"
    assert C.multiple_text("bound", 40.0, 25.0, None) == "\u2265 \u00d725"  # at #1: the bound is what is known
    assert C.multiple_text("bound", None, None, 2.0) == "\u2264 \u00d72.0"
    assert C.multiple_text("not_identified", None, None, None) == "not identified"
    assert C.multiple_text("estimate", None, None, None) == "not identified"


def test_headline_multiples_are_in_the_direction_of_more_use_for_ranks_and_views():
    rank = {"estimate": -3.7, "ci_low": -4.0, "ci_high": -3.4, "outcome": "rank"}
    assert C.headline_multiples(rank) == pytest.approx((math.exp(3.7), math.exp(3.4), math.exp(4.0)))
    views = {"estimate": 0.7, "ci_low": 0.4, "ci_high": 1.0, "outcome": "views"}
    assert C.headline_multiples(views) == pytest.approx((math.exp(0.7), math.exp(0.4), math.exp(1.0)))
    bound = {"estimate": None, "ci_low": None, "ci_high": -3.2, "kind": "bound"}  # L <= -3.2: at least e^3.2
    m, lo, hi = C.headline_multiples(bound)
    assert m is None and lo == pytest.approx(math.exp(3.2)) and hi is None


ATTRIBUTION = {
    "app_name": ["Signal", "Signal", "Parler"], "country": ["us", "us", "us"], "store": ["ios", "ios", "ios"],
    "group": ["deplatforming", "all_events", "all_events"], "kind": ["estimate", "bound", "not_identified"],
    "estimate": [-1.0, None, None], "ci_low": [-1.5, None, None], "ci_high": [-0.5, -3.2, None],
    "multiple": [math.e, None, None], "multiple_low": [math.exp(0.5), math.exp(3.2), None],
    "multiple_high": [math.exp(1.5), None, None],
}


def test_answer_terms_read_the_attribution_table_when_the_version_has_one(tmp_path):
    (tmp_path / "tables").mkdir()
    pl.DataFrame(ATTRIBUTION).write_csv(tmp_path / "tables" / "03_summary-attribution.csv")
    terms = C.answer_terms(tmp_path, {"headline": [{"series": "ignored"}]})
    assert [(t["series"], t["group"], t["text"]) for t in terms] == [
        ("Signal US ios", "deplatforming", f"\u00d7{fmt(math.e)} ({fmt(math.exp(0.5))}\u2013{fmt(math.exp(1.5))})"),
        ("Signal US ios", "all_events", f"\u2265 \u00d7{fmt(math.exp(3.2))}"),
        ("Parler US ios", "all_events", "not identified")]
    assert C.terms_map(terms)["Signal US ios \u00b7 all events"] == f"\u2265 \u00d7{fmt(math.exp(3.2))}"


def test_answer_terms_fall_back_to_the_headline_window_averages(tmp_path):
    head = [{"series": "Discord BR ios", "kind": "estimate", "estimate": 0.057, "ci_low": -0.05, "ci_high": 0.16}]
    terms = C.answer_terms(tmp_path, {"headline": head})
    assert terms == [{"series": "Discord BR ios", "group": "all_events", "kind": "estimate",
                      "text": f"\u00d7{fmt(math.exp(-0.057))} ({fmt(math.exp(-0.16))}\u2013{fmt(math.exp(0.05))})"}]


def test_changed_parameters_are_those_off_the_study_defaults():
    plain = StudyParams().as_dict()
    m = {"study": "demo", "parameters": {**plain, "apps": ["Telegram"], "output_dir": "/x"}}
    assert C.changed_parameters(m) == {"apps": ["Telegram"]}
    old = {k: v for k, v in plain.items() if k != "comparison_cutoff"} | {"intervention_date": "2021-01-08"}
    assert C.changed_parameters({"study": "demo", "parameters": old}) == {}  # renamed, same value
    wiki = C.study_default_values("wiki-top100")
    assert C.changed_parameters({"study": "wiki-top100", "parameters": dict(wiki)}) == {}
    assert C.changed_parameters({"study": "wiki-top100", "parameters": {**wiki, "errors": "hac"}}) == {"errors": "hac"}
    assert C.changed_text({"apps": ["Telegram", "Signal"], "pre_days": 40}) == "apps=Telegram,Signal; pre_days=40"
    assert C.changed_text({}) == "defaults"


@pytest.mark.parametrize(("studies", "pair"), [
    (["wiki-top100", "demo", "demo", "wiki-top100"], [3, 0]),  # the newest and its study's previous one
    (["wiki-top100", "demo", "demo"], [2, 1]),  # the newest study has one version: the study with two
    (["wiki-top100", "demo"], [1, 0]),
    (["demo"], None),
])
def test_default_pair_is_two_versions_of_one_study(studies, pair):
    assert C.default_pair([{"study": s} for s in studies]) == pair


def test_version_label_names_study_time_changes_and_hash():
    row = {"study": "demo", "created_utc": "2026-12-03T07:31:05+00:00", "version": "demo-20261203-83bc6f6e062a",
           "status": "complete", "changed": {"apps": ["Telegram"], "countries": ["us", "br"]}}
    assert C.version_label(row) == "demo \u00b7 2026-12-03 07:31 \u00b7 apps=Telegram; countries=us,br \u00b7 \u20266e062a (complete)"
