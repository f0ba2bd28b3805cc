"""The synthetic demo: full charts of positions, a truth defined by re-ranking, deterministic,
well-formed, and calibrated to reported facts."""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analysis.data.apps import APP_IDS, APPS
from analysis.data.demo import world as demo_mod
from analysis.data.demo.chart import World, ar1_filter
from analysis.data.demo.world import (
    CHART_DEPTH,
    generate_demo,
    true_event_effects,
    true_window_effects,
)
from analysis.data.events import load_events
from analysis.data.timing import affected_snapshot_dates

D0 = date(2021, 1, 1)


def us_ios(panel: pl.DataFrame, app: str) -> pl.DataFrame:
    return panel.filter(pl.col("app_name") == app, pl.col("country") == "us", pl.col("store") == "ios")


def rank_on(panel: pl.DataFrame, app: str, day: date) -> int | None:
    r = us_ios(panel, app).filter(pl.col("date") == day)["rank"]
    return int(r[0]) if r.len() else None


def tiny_world(bg: np.ndarray, base: np.ndarray, effect: np.ndarray | None = None,
               removal: np.ndarray | None = None) -> World:
    """One chart: background (day, N) and named apps (day, A) latent log-ranks, one term."""
    t, a = base.shape
    eff = np.zeros((1, 1, t, a)) if effect is None else effect[None, None]
    rem = np.zeros((1, 1, t, a), dtype=bool) if removal is None else removal[None, None]
    days = [D0 + timedelta(days=i) for i in range(t)]
    return World(days, [("ios", "us")], [f"app{i}" for i in range(a)], bg[None], base[None], ["T1"], eff, rem)


# --- the chart mechanics, on small worlds with known answers -------------------------------

def test_ar1_filter_matches_the_recursion():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(3, 50))
    u = ar1_filter(e, 0.6)
    ref = np.empty_like(e)
    ref[:, 0] = e[:, 0] / math.sqrt(1 - 0.36)
    for t in range(1, 50):
        ref[:, t] = 0.6 * ref[:, t - 1] + e[:, t]
    assert np.allclose(u, ref, rtol=0, atol=1e-12)
    assert np.allclose(ar1_filter(e.T, 0.6, axis=0), ref.T, rtol=0, atol=1e-12)


def test_a_climbing_app_pushes_exactly_the_apps_it_passes_down_by_one():
    bg = np.log(np.arange(1, 51, dtype=float))[None, :].repeat(2, 0)
    base = np.full((2, 1), math.log(30.5))
    effect = np.array([[0.0], [math.log(10.5) - math.log(30.5)]])
    w = tiny_world(bg, base, effect)
    with_ = w.full_chart("ios", "us").filter(pl.col("date") == D0 + timedelta(days=1))
    without = w.full_chart("ios", "us", without=("T1",)).filter(pl.col("date") == D0 + timedelta(days=1))
    moved = with_.join(without, on="app_name", suffix="_cf").with_columns((pl.col("rank") - pl.col("rank_cf")).alias("d"))
    assert moved.filter(pl.col("app_name") == "app0")["d"].to_list() == [-20]
    passed = {f"bg{i:04d}" for i in range(11, 31)}
    assert (moved.filter(pl.col("app_name").is_in(passed))["d"] == 1).all()
    assert (moved.filter(~pl.col("app_name").is_in(passed | {"app0"}))["d"] == 0).all()
    assert moved["d"].sum() == 0  # zero-sum
    pos = w.positions(*w.latent())
    assert pos[0, :, 0].tolist() == [31.0, 11.0]


def test_a_removed_app_moves_every_app_below_it_up_by_one():
    bg = np.log(np.arange(1, 41, dtype=float))[None, :].repeat(2, 0)
    base = np.full((2, 2), [math.log(5.5), math.log(20.5)])
    removal = np.array([[False, False], [True, False]])
    w = tiny_world(bg, base, removal=removal)
    day1 = w.full_chart("ios", "us").filter(pl.col("date") == D0 + timedelta(days=1))
    assert "app0" not in day1["app_name"].to_list()
    assert sorted(day1["rank"].to_list()) == list(range(1, 42))
    pos = w.positions(*w.latent())
    assert np.isnan(pos[0, 1, 0]) and pos[0, 0, 1] == 22.0 and pos[0, 1, 1] == 21.0


def test_the_reranked_effect_equals_the_latent_shift_far_from_neighbours():
    """In a dense continuum (one app per unit of rank) a latent shift d moves rank r to about
    r e^d: the re-ranked log-rank effect equals d up to the rank's integer rounding."""
    bg = np.log(np.arange(1, 5001, dtype=float))[None, :]
    for d in (-1.0, -0.3, 0.5):
        w = tiny_world(bg, np.array([[math.log(1000.5)]]), np.array([[d]]))
        with_ = w.positions(*w.latent())[0, 0, 0]
        without = w.positions(*w.latent(("T1",)))[0, 0, 0]
        assert without == 1001.0
        assert math.log(with_ / without) == pytest.approx(d, abs=0.005)


# --- the generated demo ----------------------------------------------------------------------

def test_same_seed_gives_byte_identical_outputs(demo):
    again = generate_demo(seed=demo.seed)
    for name in ("panel", "effects", "series", "latent", "truth", "event_truth"):
        assert getattr(again, name).write_csv() == getattr(demo, name).write_csv(), name
    assert not generate_demo(seed=demo.seed + 1).panel.equals(demo.panel)


def test_panel_has_the_documented_shape(demo):
    p = demo.panel
    assert p.columns == ["date", "store", "country", "chart", "app_id", "app_name", "rank", "chart_depth"]
    assert set(p["chart_depth"].unique()) == {CHART_DEPTH}
    assert p["date"].min() == date(2020, 10, 1) and p["date"].max() == date(2021, 3, 31)
    assert set(p["store"].unique()) == {"ios", "google_play"}
    assert set(p["country"].unique()) == {"us", "gb", "de", "fr", "in", "br"}
    assert set(p["chart"].unique()) == {"top_free_overall"}
    assert set(p["app_name"].unique()) <= set(APPS)
    assert {"Gab", "Rumble", "MeWe", "Signal", "Telegram", "Parler", "WhatsApp"} <= set(p["app_name"].unique())


def test_ranks_are_distinct_within_a_chart_and_within_depth(demo):
    p = demo.panel
    assert p["rank"].min() >= 1 and p["rank"].max() <= CHART_DEPTH
    assert not p.select(pl.struct("date", "store", "country", "chart", "rank").is_duplicated().any()).item()


@pytest.mark.parametrize(("store", "country"), [("ios", "us"), ("google_play", "in")])
def test_every_days_chart_is_a_permutation_and_agrees_with_the_fast_positions(demo, store, country):
    """Sorting the whole chart (background included) gives ranks 1..n each day, and the named
    apps' ranks equal the searchsorted positions the panel and the truth are built from."""
    full = demo.world.full_chart(store, country)
    per_day = full.group_by("date").agg(pl.col("rank").sort(), pl.len().alias("n"))
    assert per_day.height == 182
    assert all(r == list(range(1, n + 1)) for r, n in per_day.select("rank", "n").iter_rows())
    named = full.join(demo.truth.filter(pl.col("store") == store, pl.col("country") == country),
                      on=["app_name", "date"], how="inner")
    assert named.height == demo.truth.filter(pl.col("store") == store, pl.col("country") == country,
                                             pl.col("rank").is_not_null()).height
    assert (named["rank"] == named["rank_right"].cast(pl.Int64)).all()
    top = full.filter(pl.col("rank") <= CHART_DEPTH, pl.col("app_name").is_in(list(APPS)))
    panel = demo.panel.filter(pl.col("store") == store, pl.col("country") == country)
    assert top.sort("date", "rank").select("date", "app_name", "rank").equals(
        panel.sort("date", "rank").select("date", "app_name", "rank"))


def test_apps_below_the_chart_have_no_row_rather_than_an_imputed_rank(demo):
    # Signal starts around #750 in the US: below the chart depth, so no rows in October.
    assert us_ios(demo.panel, "Signal").filter(pl.col("date") < date(2021, 1, 1)).is_empty()
    # Threema is a paid app: never in the top-free chart.
    assert demo.panel.filter(pl.col("app_name") == "Threema").is_empty()
    # The latent series exists for every day, so the censoring is visible, not hidden.
    lat = demo.latent.filter(pl.col("app_name") == "Signal", pl.col("country") == "us", pl.col("store") == "ios")
    assert lat.height == 182 and lat["latent_log_rank"].is_not_null().all()
    assert lat.filter(pl.col("date") == date(2021, 1, 4))["latent_log_rank"][0] > math.log(CHART_DEPTH)


def test_parler_has_no_ranks_after_its_store_removals(demo):
    p = demo.panel.filter(pl.col("app_name") == "Parler")
    assert p.filter(pl.col("store") == "google_play")["date"].max() <= date(2021, 1, 8)
    assert p.filter(pl.col("store") == "ios")["date"].max() <= date(2021, 1, 9)
    t = demo.truth.filter(pl.col("app_name") == "Parler", pl.col("date") > date(2021, 1, 9))
    assert t["rank"].is_null().all() and t["rank_effect"].is_null().all()


def test_effects_sit_on_the_first_affected_snapshots_the_timing_module_computes(demo):
    first = dict(affected_snapshot_dates(load_events()).select("event_id", "first_possible_snapshot").iter_rows())
    sched = demo.schedule
    assert dict(sched.select("event_id", "date").iter_rows()) == first
    merged = sched.filter(pl.col("event_id").is_in(["X04", "X05"]))["term_id"].unique().to_list()
    assert merged == ["X04+X05"]
    w = demo.world
    for k, term in enumerate(w.term_ids):
        i = (sched.filter(pl.col("term_id") == term)["date"][0] - w.days[0]).days
        assert not w.term_effect[k][:, :i].any() and not w.term_removal[k][:, :i].any(), term
        if w.term_effect[k].any():
            assert w.term_effect[k][:, i].any(), term
    for e in demo.effects.iter_rows(named=True):
        assert e["date"] == first[e["event_id"].split("+")[0]]


def test_calibration_matches_reported_us_app_store_ranks(demo):
    p = demo.panel
    assert rank_on(p, "Signal", date(2021, 1, 4)) is None  # about #750: outside the top 200
    assert 750 / 1.6 <= demo.truth.filter(pl.col("app_name") == "Signal", pl.col("country") == "us",
                                          pl.col("store") == "ios", pl.col("date") == date(2021, 1, 4))["rank"][0] <= 750 * 1.6
    assert all(rank_on(p, "Signal", date(2021, 1, d)) == 1 for d in (10, 11, 12, 13))
    assert rank_on(p, "Telegram", date(2021, 1, 13)) in (2, 3)
    assert rank_on(p, "Parler", date(2021, 1, 8)) == 1 and rank_on(p, "Parler", date(2021, 1, 9)) == 1
    assert 25 <= rank_on(p, "MeWe", date(2021, 1, 8)) <= 38
    assert 9 <= rank_on(p, "MeWe", date(2021, 1, 9)) <= 15
    assert 4 <= rank_on(p, "MeWe", date(2021, 1, 11)) <= 7


def test_calibration_agrees_with_the_shared_reported_ranks_file(demo, shared_data):
    """Every US App Store top-free rank reported in the press for a demo app on a day is
    matched by the demo within a factor of 1.6 (log distance 0.47), or both are in the top 3."""
    reported = pl.read_csv(shared_data / "reported_app_metrics" / "reported_ranks.csv").filter(
        pl.col("store") == "ios", pl.col("country") == "us", pl.col("chart") == "top_free_overall",
        pl.col("app_name").is_in(list(APPS)),
    ).with_columns(pl.col("date").str.to_date())
    assert reported.height >= 8
    for row in reported.iter_rows(named=True):
        sim = rank_on(demo.panel, row["app_name"], row["date"])
        assert sim is not None, row
        ok = max(sim, row["rank"]) / min(sim, row["rank"]) <= 1.6 or max(sim, row["rank"]) <= 3
        assert ok, (row["app_name"], row["date"], row["rank"], sim)


def test_the_pre_period_holds_the_november_surge_and_the_christmas_season(demo):
    t = demo.truth
    parler = t.filter(pl.col("app_name") == "Parler", pl.col("country") == "us", pl.col("store") == "ios")
    nov = parler.filter(pl.col("date").is_between(date(2020, 11, 8), date(2020, 11, 10)))["rank"].median()
    dec = parler.filter(pl.col("date").is_between(date(2020, 12, 1), date(2020, 12, 20)))["rank"].median()
    oct_ = parler.filter(pl.col("date") < date(2020, 11, 1))["rank"].median()
    assert nov <= 3 and dec >= 20 and dec < oct_  # a spike, then a lasting part
    msg = t.filter(pl.col("app_name").is_in(["WhatsApp", "Facebook Messenger", "Discord"]))
    xmas = msg.filter(pl.col("date").is_between(date(2020, 12, 24), date(2020, 12, 27))).group_by(
        "app_name", "country", "store").agg(pl.col("rank").log().mean().alias("x"))
    before = msg.filter(pl.col("date").is_between(date(2020, 12, 7), date(2020, 12, 17))).group_by(
        "app_name", "country", "store").agg(pl.col("rank").log().mean().alias("b"))
    diff = xmas.join(before, on=["app_name", "country", "store"]).select(pl.col("x") - pl.col("b"))
    assert diff.to_series().median() < -0.1  # messaging apps climb at Christmas
    # Nothing before the first event differs between the world with and without events.
    first = demo.schedule["date"].min()
    assert (t.filter(pl.col("date") < first)["rank_effect"] == 0).all()


def test_true_event_effects_follow_the_contract(demo):
    te = true_event_effects(demo=demo)
    assert {"app_name", "country", "store", "event_id", "estimand", "true_value", "date"} <= set(te.columns)
    lv = te.filter(pl.col("estimand") == "level")
    terms = demo.schedule.filter(pl.col("date") <= date(2021, 3, 31))["term_id"].n_unique()
    assert lv.height == len(demo_mod.NAMED_APPS) * 12 * terms  # zero rows included
    assert not lv.select(pl.struct("app_name", "country", "store", "event_id").is_duplicated().any()).item()
    assert set(te["estimand"]) == {"level", "slope", "decay"}
    musk = te.filter(pl.col("app_name") == "Signal", pl.col("event_id") == "X03", pl.col("estimand") == "decay")
    assert musk.height == 12 and (musk["true_value"] > 0).all()  # a decaying spike: its half-life in days
    assert "X04+X05" in set(lv["event_id"])


@pytest.mark.parametrize(("app", "country", "store", "term"), [
    ("Signal", "us", "ios", "X03"), ("MeWe", "us", "ios", "X06"), ("Discord", "us", "ios", "X06"),
    ("Telegram", "in", "google_play", "X01"), ("Parler", "us", "ios", "X04+X05"),
])
def test_event_truth_equals_an_independent_rerank_of_the_world_without_the_event(demo, app, country, store, term):
    d = demo.schedule.filter(pl.col("term_id") == term)["date"][0]
    w = demo.world

    def rank(without: tuple[str, ...]) -> int:
        full = w.full_chart(store, country, without)
        return full.filter(pl.col("app_name") == app, pl.col("date") == d)["rank"][0]

    row = demo.event_truth.filter(pl.col("app_name") == app, pl.col("country") == country, pl.col("store") == store,
                                  pl.col("event_id") == term, pl.col("estimand") == "level")
    assert row["true_value"][0] == pytest.approx(math.log(rank(()) / rank((term,))), abs=1e-12)


def test_window_truth_equals_an_independent_rerank_without_any_event(demo):
    start, end = date(2021, 1, 4), date(2021, 1, 17)
    w = demo.world
    full = w.full_chart("ios", "us").join(w.full_chart("ios", "us", tuple(w.term_ids)), on=["app_name", "date"],
                                          suffix="_cf")
    ref = full.filter(pl.col("app_name") == "Telegram", pl.col("date").is_between(start, end)).select(
        (pl.col("rank").log() - pl.col("rank_cf").log()).mean()).item()
    tw = true_window_effects(demo.truth, start, end)
    assert set(tw["estimand"]) == {"window_average"} and tw["event_id"].is_null().all()
    got = tw.filter(pl.col("app_name") == "Telegram", pl.col("country") == "us", pl.col("store") == "ios")
    assert got["true_value"][0] == pytest.approx(ref, abs=1e-12) and got["n_days"][0] == 14
    with pytest.raises(ValueError, match="before"):
        true_window_effects(demo, end, start)


def test_reranked_truth_tracks_the_latent_shift_away_from_the_top_and_is_floored_at_one(demo):
    lv = demo.event_truth.filter(pl.col("estimand") == "level", pl.col("latent_value") != 0,
                                 pl.col("true_value").is_not_null())
    far = lv.filter(pl.col("rank_with") >= 30, pl.col("rank_without") >= 30)
    assert far.height >= 50
    assert (far["true_value"] - far["latent_value"]).abs().median() < 0.03
    # Where the latent shift would carry the app past #1, it ends at the top (behind at most one
    # other climber) and the rank effect is attenuated.
    past_top = lv.filter(pl.col("rank_without") * pl.col("latent_value").exp() < 0.5)
    assert past_top.height >= 2
    assert (past_top["rank_with"] <= 2).all() and (past_top["true_value"] > past_top["latent_value"]).all()


def test_apps_without_a_latent_effect_are_moved_by_the_others(demo):
    lv = demo.event_truth.filter(pl.col("estimand") == "level")
    placebo = lv.filter(pl.col("app_name").is_in(["Discord", "Facebook Messenger"]))
    assert (placebo["latent_value"] == 0).all()
    assert placebo.filter(pl.col("true_value") > 0.05).height >= 10  # pushed down by the climbers
    assert demo.effects.filter(pl.col("app_name").is_in(["Discord", "Facebook Messenger"])).is_empty()


def test_the_privacy_shock_is_india_europe_led_and_the_deplatforming_us_centric(demo):
    lat = demo.event_truth.filter(pl.col("estimand") == "level", pl.col("store") == "ios")

    def level(app: str, term: str) -> dict[str, float]:
        x = lat.filter(pl.col("app_name") == app, pl.col("event_id") == term)
        return dict(zip(x["country"], x["latent_value"], strict=True))

    for app in ("Signal", "Telegram"):
        x01 = level(app, "X01")
        assert max(x01["in"], x01["de"], x01["gb"], x01["fr"]) < x01["us"]
    for app in ("MeWe", "Rumble", "Gab", "Telegram"):
        dep = level(app, "X04+X05")
        assert dep["us"] < min(v for c, v in dep.items() if c != "us")


def test_true_effects_are_written_beside_the_panel_with_sources(demo):
    e = demo.effects
    assert {"app_name", "country", "store", "event_id", "date", "level", "slope", "shape", "basis",
            "source_url"} <= set(e.columns)
    assert e.filter(pl.col("basis") == "reported")["source_url"].str.starts_with("https://").all()
    assert set(e["shape"]) == {"step", "step+slope", "decay:21"}


def test_gab_is_synthetic_only_and_never_matches_real_chart_ids():
    assert "Gab" in APPS and "Gab" not in set(APP_IDS.values())


def test_the_demo_is_labelled_and_imports_no_scipy():
    assert demo_mod.SYNTHETIC_LABEL == "SYNTHETIC DEMO DATA"
    assert "SYNTHETIC DEMO DATA" in (demo_mod.__doc__ or "")
    code = "import sys, analysis.data.demo.world; assert 'scipy' not in sys.modules, 'scipy imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
