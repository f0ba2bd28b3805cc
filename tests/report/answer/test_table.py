"""The answer table: numbers, bounds, downloads multiples, truth and sentences (issue 9)."""

from __future__ import annotations

import json
import math
import re

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analysis.data.events import load_events
from analysis.errors import InputError
from analysis.report.answer.sentences import fmt
from analysis.report.answer.table import (
    ANSWER_COLUMNS,
    SEED_APPS,
    answer_paragraphs,
    answer_table,
    headline_from_answer,
    merged_note,
    read_answer,
    truth_coverage,
)
from analysis.report.page.outputs import write_table
from tests.answer_fixtures import effects, row, truth

A = (0.8, 1.1)
NUM = r"([\d.,]+)"


@pytest.fixture(scope="module")
def events():
    return load_events()


@pytest.fixture(scope="module")
def answer(events):
    return answer_table(effects(), truth=truth(), synthetic=True, exponent_range=A, events=events)


def pick(answer, app, country, event, estimand="level"):
    f = answer.filter(pl.col("app_name") == app, pl.col("country") == country, pl.col("estimand") == estimand)
    f = f.filter(pl.col("event_id").is_null() if event is None else pl.col("event_id") == event)
    assert f.height == 1
    return f.row(0, named=True)


def num(s: str) -> float:
    return float(s.replace(",", ""))


def test_columns_are_exactly_the_issue_s_and_one_row_per_series_event_estimand(answer):
    assert tuple(answer.columns) == ANSWER_COLUMNS
    assert answer.height == effects().height
    assert answer.select(pl.struct("app_name", "country", "store", "event_id", "estimand").is_unique().all()).item()


def test_downloads_multiples_are_exp_minus_a_l_at_the_ends_of_the_exponent_range(answer):
    r = pick(answer, "Telegram", "gb", None, "window_average")
    # L in [-1.6, -0.8], a in [0.8, 1.1]: smallest multiple at (0.8, -0.8), largest at (1.1, -1.6)
    assert r["downloads_factor_low"] == pytest.approx(math.exp(-0.8 * -0.8))
    assert r["downloads_factor_high"] == pytest.approx(math.exp(-1.1 * -1.6))
    assert r["downloads_factor"] == pytest.approx(math.exp(-0.95 * -1.2))
    # a rank that fell: multiples below 1, the order of the ends flips
    w = pick(answer, "WhatsApp", "in", None, "window_average")
    assert w["downloads_factor_low"] == pytest.approx(math.exp(-1.1 * 0.6))
    assert w["downloads_factor_high"] == pytest.approx(math.exp(-0.8 * 0.2))


def test_only_window_averages_are_translated_into_downloads(answer):
    ev = answer.filter(pl.col("estimand") != "window_average")
    assert ev.select(pl.col("downloads_factor", "downloads_factor_low", "downloads_factor_high").null_count()
                     ).row(0) == (ev.height,) * 3


def test_an_app_at_number_one_is_a_lower_bound_on_climb_and_downloads(answer):
    r = pick(answer, "Signal", "us", None, "window_average")
    assert r["kind"] == "bound" and r["ci_low"] is None and r["ci_high"] == -3.2 and r["estimate"] == -3.7
    assert r["downloads_factor_high"] is None
    assert r["downloads_factor_low"] == pytest.approx(math.exp(0.8 * 3.2))
    s = r["sentence"]
    assert "at least" in s and "#1" in s and "lower bounds" in s
    assert f"saw \u00d7{fmt(math.exp(3.7))} more use (at least \u00d7{fmt(math.exp(3.2))} more use with 95%" in s
    assert f"at least \u00d7{fmt(math.exp(0.8 * 3.2))} more downloads" in s


def test_a_contract_bound_is_a_one_sided_interval_and_reads_at_least(answer):
    r = pick(answer, "Signal", "us", "X01")
    assert r["kind"] == "bound" and r["estimate"] is None and r["ci_low"] is None and r["ci_high"] == -1.1
    assert f"saw at least \u00d7{fmt(math.exp(1.1))} more use (one-sided 95% bound)" in r["sentence"]
    assert "the pre-period is below the chart depth" in r["sentence"]
    lower = answer_table(pl.DataFrame([row("MeWe", "us", "ios", "X07", "level", kind="bound", side="lower",
                                           bound=-2.0, reason="r")], schema=effects().schema),
                         truth=None, synthetic=False)
    assert lower["ci_low"][0] == -2.0 and lower["ci_high"][0] is None
    assert f"saw at most \u00d7{fmt(math.exp(2.0))} more use" in lower["sentence"][0]


def test_not_identified_says_why_and_has_no_numbers(answer):
    r = pick(answer, "Signal", "us", "X03")
    assert r["kind"] == "not_identified" and r["estimate"] is r["ci_low"] is r["ci_high"] is None
    assert "not identified: every pre-period day is censored" in r["sentence"]


def test_merged_events_are_named_from_the_registry_as_not_separable(answer, events):
    s = pick(answer, "Telegram", "us", "X04+X05")["sentence"]
    for eid in ("X04", "X05"):
        name = events.filter(pl.col("event_id") == eid)["event"][0].split(" (")[0]
        assert name in s
    assert "cannot separate" in s
    # a deplatforming term says it is net of the confounders modelled in the same series
    assert "beyond what X03" in s and "Use Signal" in s


def test_sentence_numbers_equal_the_table_s(answer):
    checked = 0
    for r in answer.filter(pl.col("kind") == "estimate", pl.col("estimand") != "slope").iter_rows(named=True):
        s = r["sentence"]
        x = "\u00d7"
        if r["ci_high"] < 0:  # climbed: more use, multiples exp(-L)
            m = re.search(rf"saw {x}{NUM} more use \(95% CI {x}{NUM}\u2013{x}{NUM} more use\)", s)
            want = (math.exp(-r["estimate"]), math.exp(-r["ci_high"]), math.exp(-r["ci_low"]))
        elif r["ci_low"] > 0:  # fell: less use, multiples exp(L) (never below 1)
            m = re.search(rf"saw {x}{NUM} less use \(95% CI {x}{NUM}\u2013{x}{NUM} less use\)", s)
            want = (math.exp(r["estimate"]), math.exp(r["ci_low"]), math.exp(r["ci_high"]))
        else:  # spans no change: from less to more use
            m = re.search(rf"no clear change \({x}{NUM} (more|less) use; 95% CI {x}{NUM} less to {x}{NUM} more use\)", s)
            e = math.exp(-r["estimate"])
            assert m and m.group(2) == ("more" if e >= 1 else "less"), s
            m = re.search(rf"no clear change \({x}{NUM} (?:more|less) use; 95% CI {x}{NUM} less to {x}{NUM} more use\)", s)
            want = (max(e, 1 / e), math.exp(r["ci_high"]), math.exp(-r["ci_low"]))
        assert m, s
        for got, w in zip(m.groups(), want, strict=True):  # two significant digits
            assert num(got) == pytest.approx(w, rel=0.05)
        if r["estimand"] == "window_average":
            lo_d, hi_d = r["downloads_factor_low"], r["downloads_factor_high"]
            if lo_d >= 1:
                d, want_d = re.search(rf"\u00d7{NUM}\u2013\u00d7{NUM} more downloads", s), (lo_d, hi_d)
            elif hi_d < 1:  # fewer downloads: the multiples inverted, so never below 1
                d, want_d = re.search(rf"\u00d7{NUM}\u2013\u00d7{NUM} fewer downloads", s), (1 / hi_d, 1 / lo_d)
            else:
                d, want_d = re.search(rf"\u00d7{NUM} fewer to \u00d7{NUM} more downloads", s), (1 / lo_d, hi_d)
            assert d, s
            assert [num(g) for g in d.groups()] == pytest.approx(list(want_d), rel=0.05)
            assert "exponent 0.8\u20131.1" in s
        checked += 1
    assert checked == 7


def test_slope_sentence_gives_the_daily_percentage(answer):
    s = pick(answer, "Telegram", "gb", "X01", "slope")["sentence"]
    m = re.search(rf"saw {NUM}% more use per day \(95% CI {NUM}\u2013{NUM}% more use per day\)", s)
    assert [num(x) for x in m.groups()] == pytest.approx(
        [100 * math.expm1(0.03), 100 * math.expm1(0.01), 100 * math.expm1(0.05)], rel=0.05)


@pytest.mark.parametrize("x, text", [(40.3, "40"), (9.96, "10"), (99.7, "100"), (0.456, "0.46"), (1234, "1,200"),
                                     (2.345, "2.3"), (1.0, "1.0"), (25.0, "25")])
def test_two_significant_digits(x, text):
    assert fmt(x) == text


def test_truth_joins_on_the_key_including_the_window_average_and_only_for_synthetic_studies(answer, events):
    assert pick(answer, "Signal", "us", None, "window_average")["true_value"] == -3.9
    assert pick(answer, "Telegram", "gb", "X01")["true_value"] == -1.3
    assert pick(answer, "Signal", "us", "X01")["true_value"] is None  # no truth row
    real = answer_table(effects(), truth=truth(), synthetic=False, events=events)
    assert real["true_value"].null_count() == real.height


def test_truth_coverage_counts_on_the_hand_made_frame(answer):
    cov = {r["app_name"]: r for r in truth_coverage(answer).iter_rows(named=True)}
    # Signal: floored window-average bound (-3.9 <= -3.2) and X04+X05 [-2.0, -1.2] contains -1.5
    assert (cov["Signal"]["n"], cov["Signal"]["n_covered"], cov["Signal"]["n_bound"]) == (2, 2, 1)
    # Telegram: GB window [-1.6, -0.8] holds -1.0; GB X01 [-1.1, -0.7] misses -1.3; the zero truth (US X03) is left out
    assert (cov["Telegram"]["n"], cov["Telegram"]["n_covered"]) == (2, 1)
    assert cov["all"]["n"] == 5 and cov["all"]["n_covered"] == 4 and cov["all"]["coverage"] == pytest.approx(0.8)


def test_not_identified_truths_are_counted_apart_and_never_covered():
    a = pl.DataFrame({"app_name": ["X"] * 3, "kind": ["not_identified", "bound", "bound"],
                      "ci_low": [None, -1.0, None], "ci_high": [None, None, -2.0], "true_value": [-1.0, -0.5, -1.0]},
                     schema_overrides={"ci_low": pl.Float64, "ci_high": pl.Float64})
    c = truth_coverage(a).filter(pl.col("app_name") == "all").row(0, named=True)
    assert (c["n"], c["n_covered"], c["n_not_identified"], c["n_bound"]) == (2, 1, 1, 2)


def test_bad_effects_frames_name_the_column_and_row(events):
    bad = effects().with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("guess")).otherwise("kind")
                                 .alias("kind"))
    with pytest.raises(InputError, match=r"column 'kind', row 3 \(Signal us ios X01 level\)"):
        answer_table(bad, truth=None, synthetic=False, events=events)
    with pytest.raises(InputError, match="missing column"):
        answer_table(effects().drop("ci_high"), truth=None, synthetic=False, events=events)
    unknown = effects().with_columns(pl.col("event_id").replace("X03", "X99"))
    with pytest.raises(InputError, match="X99"):
        answer_table(unknown, truth=None, synthetic=False, events=events)
    nan = effects().with_columns(pl.when(pl.int_range(pl.len()) == 0).then(float("nan")).otherwise("ci_low")
                                 .alias("ci_low"))
    with pytest.raises(InputError, match="column 'ci_low', row 1"):
        answer_table(nan, truth=None, synthetic=False, events=events)


def test_paragraphs_cover_every_seed_app_and_the_selected_ones(answer, events):
    paras = answer_paragraphs(answer, ["Discord", "Telegram"], events)
    assert [a for a, _ in paras] == [*SEED_APPS, "Discord"]
    text = dict(paras)
    assert text["Signal"].startswith(pick(answer, "Signal", "us", None, "window_average")["sentence"])
    assert pick(answer, "Signal", "us", "X04+X05")["sentence"] in text["Signal"]
    assert "not identified" in text["Signal"] and "cannot separate these events" not in text["Signal"]
    # which events the data cannot separate is said once, above the paragraphs, with their names
    note = merged_note(answer)
    assert note.startswith("The data cannot separate these events") and "X04+X05" in note
    assert "Twitter permanently suspends @realDonaldTrump" in note
    # Telegram leads with the US and lists the UK as a rank multiple with its interval
    assert text["Telegram"].startswith("In the US (App Store), by its rank, Telegram")
    assert (f"the UK (App Store) \u00d7{fmt(math.exp(1.2))} more use (\u00d7{fmt(math.exp(0.8))}\u2013"
            f"\u00d7{fmt(math.exp(1.6))} more use)") \
        in text["Telegram"]
    assert "no window-average estimate" in text["Parler"] and "no window-average estimate" in text["Discord"]


def test_a_paragraph_leads_with_an_identified_series_and_counts_the_rest(events):
    eff = pl.DataFrame([row("MeWe", "us", "ios", None, "window_average", kind="not_identified", reason="why"),
                        row("MeWe", "us", "google_play", None, "window_average", e=-1.0, lo=-1.4, hi=-0.6),
                        row("MeWe", "gb", "ios", None, "window_average", kind="not_identified", reason="why")],
                       schema=effects().schema)
    text = dict(answer_paragraphs(answer_table(eff, truth=None, synthetic=False, events=events), events=events))
    assert text["MeWe"].startswith("In the US (Google Play), by its rank, MeWe saw \u00d7")
    assert "not identified in 2 other series" in text["MeWe"]


def test_headline_comes_from_the_answer_table_and_is_strict_json(answer):
    h = headline_from_answer(answer)
    assert [x["series"] for x in h] == ["Signal US ios", "Telegram US ios", "Telegram GB ios", "WhatsApp IN ios"]
    assert h[0]["ci_low"] is None and h[0]["kind"] == "bound"
    json.dumps(h, allow_nan=False)


def test_answer_csv_round_trips_with_empty_cells_as_nulls(answer, tmp_path):
    p = write_table(answer, tmp_path / "03_summary-answer.csv")
    back = read_answer(p)
    assert_frame_equal(back, answer, rel_tol=1e-8)  # 8 decimals in the CSV
    assert back["event_id"].null_count() == 4 and back["true_value"].null_count() == answer["true_value"].null_count()


def test_discord_br_a_rank_that_fell_reads_less_use_in_every_sentence(events):
    """Issue 21, item 6: Discord BR's window average was +0.057 (the app fell), and the sentence
    said "rank multiplied by 0.94", which reads as a climb.  One convention: ×k more / less use,
    with k >= 1 (here exp(0.057) = 1.06 -> '×1.1 less use')."""
    eff = pl.DataFrame([row("Discord", "br", "ios", None, "window_average", e=0.057, lo=-0.05, hi=0.16),
                        row("Discord", "br", "ios", "X09", "level", e=0.2, lo=0.1, hi=0.3)], schema=effects().schema)
    a = answer_table(eff, truth=None, synthetic=False, events=events)
    wa = pick(a, "Discord", "br", None, "window_average")["sentence"]
    assert "saw no clear change (\u00d71.1 less use; 95% CI \u00d7" in wa
    # exp(-0.16) = 0.85 -> 1/0.85 = 1.17 less; exp(0.05) = 1.05 more
    assert f"95% CI \u00d7{fmt(math.exp(0.16))} less to \u00d7{fmt(math.exp(0.05))} more use" in wa
    assert "multiplied" not in wa and "0.9" not in wa
    ev = pick(a, "Discord", "br", "X09")["sentence"]
    assert f"saw \u00d7{fmt(math.exp(0.2))} less use (95% CI \u00d7{fmt(math.exp(0.1))}\u2013\u00d7{fmt(math.exp(0.3))} less use)" in ev
    para = dict(answer_paragraphs(a, ["Discord"], events))["Discord"]
    assert "less use" in para and "more use (" not in para.split(";")[0]


def test_no_sentence_shows_a_multiple_below_one(answer):
    """The word carries the direction; a number after × is never below 1."""
    text = " ".join(answer["sentence"].to_list())
    shown = [num(x) for x in re.findall(r"\u00d7([\d.,]+)", text)]
    assert shown and min(shown) >= 1.0
    assert set(re.findall(r"\u00d7[\d.,]+ (\w+)", text)) <= {"more", "less", "fewer"}
