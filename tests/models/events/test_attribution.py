"""Attributable contrasts: L'beta and L'Sigma L against statsmodels on the same design, groups adding
up to all events, merges that mix groups reported as such, and (slow) interval coverage of the
demo's re-ranked group truth."""

from __future__ import annotations

import functools
import warnings
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.signal import lfilter

from analysis.data.events import event_groups
from analysis.models.events.attribution import contrasts, parse_groups
from analysis.models.events.design import build_event_design
from analysis.models.events.fit import fit_events

START = date(2020, 11, 1)
T = 90
WINDOW = 14


def registry(days: dict[str, int]) -> pl.DataFrame:
    d = [START + timedelta(days=k) for k in days.values()]
    return pl.DataFrame({"event_id": list(days), "date_utc": d, "local_date": d, "local_tz": "UTC",
                         "event": list(days), "kind": ["confound", "deplatforming", "deplatforming"][: len(days)]})


def simulate(effects: dict[int, float], rho: float = 0.6, sigma: float = 0.1, seed: int = 1) -> pl.DataFrame:
    """One log-rank series: trend, day of week, steps at the given days, AR(1) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    days = [START + timedelta(days=int(i)) for i in t]
    dow = np.array([0.0, 0.05, 0.1, 0.02, -0.08, -0.12, 0.03])[[d.weekday() for d in days]]
    u = lfilter([1.0], [1.0, -rho], rng.normal(0, sigma, T + 60))[60:]
    y = 4 + 0.004 * t + dow + sum(v * (t >= k) for k, v in effects.items()) + u
    return pl.DataFrame({"app_name": "A", "country": "us", "store": "ios", "date": days, "rank": np.exp(y)})


def reference_design(cuts: list[int]) -> np.ndarray:
    """The per-event design written out by hand: intercept, trend, one step per cutoff, weekday dummies."""
    t = np.arange(T, dtype=float)
    wd = np.array([(START + timedelta(days=int(i))).weekday() for i in t])
    return np.column_stack([np.ones(T), t, *[(t >= c).astype(float) for c in cuts],
                            *[(wd == k).astype(float) for k in range(1, 7)]])


def window_L(X: np.ndarray, cols: list[int], w0: int) -> np.ndarray:
    """Mean over the window days of the design rows, zero outside the group's columns."""
    L = np.zeros(X.shape[1])
    L[cols] = X[w0:w0 + WINDOW, cols].mean(axis=0)
    return L


def fit(panel, days, errors, overrides=None):
    reg = registry(days)
    des = build_event_design(reg, START, START + timedelta(days=T - 1))
    f = fit_events(panel, des, errors=errors, min_pre=14, window_days=WINDOW)
    return contrasts(f, event_groups(reg, overrides), WINDOW)


def test_group_contrast_equals_statsmodels_ols_t_test():
    import statsmodels.api as sm

    days = {"E1": 60, "E2": 63, "E3": 67}
    panel = simulate({60: -0.5, 63: -1.0, 67: 0.3}, seed=3)
    got = {r["group"]: r for r in fit(panel, days, "iid").iter_rows(named=True)}
    X = reference_design([60, 63, 67])
    ols = sm.OLS(np.log(panel["rank"].to_numpy()), X).fit()
    for group, cols in {"privacy_shock": [2], "deplatforming": [3, 4], "all_events": [2, 3, 4]}.items():
        tt = ols.t_test(window_L(X, cols, 60)[None, :])
        lo, hi = tt.conf_int(alpha=0.05)[0]
        assert got[group]["estimate"] == pytest.approx(float(tt.effect[0]), abs=1e-9)
        assert got[group]["se"] == pytest.approx(float(tt.sd[0, 0]), rel=1e-7)
        assert (got[group]["ci_low"], got[group]["ci_high"]) == pytest.approx((lo, hi), rel=1e-7)
    # deplatforming: E2 on 11 of 14 window days, E3 on 7 -> L = (11/14, 7/14) on the two steps
    assert window_L(X, [3, 4], 60)[[3, 4]] == pytest.approx([11 / 14, 7 / 14])
    assert got["other"]["estimate"] == 0.0 and "no event of this group" in got["other"]["reason"]


def test_group_contrast_under_ar1_matches_sarimax_covariance():
    import statsmodels.api as sm

    days = {"E1": 60, "E2": 63, "E3": 67}
    panel = simulate({60: -0.5, 63: -1.0, 67: 0.3}, seed=5)
    got = {r["group"]: r for r in fit(panel, days, "ar1").iter_rows(named=True)}
    X = reference_design([60, 63, 67])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sm.tsa.SARIMAX(np.log(panel["rank"].to_numpy()), exog=X, order=(1, 0, 0), trend="n").fit(
            disp=False, method="bfgs", maxiter=2000, gtol=1e-9, cov_type="oim")
    k = X.shape[1]
    beta, cov = ref.params[:k], np.asarray(ref.cov_params())[:k, :k]
    for group, cols in {"privacy_shock": [2], "deplatforming": [3, 4], "all_events": [2, 3, 4]}.items():
        L = window_L(X, cols, 60)
        assert got[group]["estimate"] == pytest.approx(L @ beta, abs=5e-4)
        # the covariance of the two steps enters: not the sum of their variances
        assert got[group]["se"] == pytest.approx(np.sqrt(L @ cov @ L), rel=0.1)
    diag_only = np.sqrt(sum((window_L(X, [c], 60)[c] ** 2) * cov[c, c] for c in (3, 4)))
    assert abs(got["deplatforming"]["se"] - diag_only) > 0.05 * diag_only


def test_groups_add_up_to_all_events_and_regrouping_moves_a_term():
    days = {"E1": 60, "E2": 63, "E3": 67}
    panel = simulate({60: -0.5, 63: -1.0, 67: 0.3}, seed=7)
    c = {r["group"]: r for r in fit(panel, days, "ar1").iter_rows(named=True)}
    total = sum(c[g]["estimate"] for g in ("deplatforming", "privacy_shock", "other"))
    assert total == pytest.approx(c["all_events"]["estimate"], abs=1e-12)
    moved = {r["group"]: r for r in fit(panel, days, "ar1", {"E3": "other"}).iter_rows(named=True)}
    assert moved["deplatforming"]["terms"] == "E2" and moved["other"]["terms"] == "E3"
    assert moved["deplatforming"]["estimate"] + moved["other"]["estimate"] == pytest.approx(
        c["deplatforming"]["estimate"], abs=1e-12)


def test_merge_mixing_groups_is_reported_never_split():
    days = {"E1": 60, "E2": 63, "E3": 63}  # E2 and E3 share a snapshot: one term E2+E3
    panel = simulate({60: -0.5, 63: -1.0}, seed=9)
    c = {r["group"]: r for r in fit(panel, days, "ar1", {"E3": "privacy_shock"}).iter_rows(named=True)}
    for g in ("deplatforming", "privacy_shock"):
        assert c[g]["kind"] == "not_identified" and "E2+E3" in c[g]["reason"], g
    assert c["mixed:E2+E3"]["kind"] == "estimate" and c["mixed:E2+E3"]["estimate"] == pytest.approx(
        -1.0 * 11 / 14, abs=0.15)
    assert c["all_events"]["kind"] == "estimate"


def test_parse_groups_rejects_bad_items():
    assert parse_groups(["X03:other", " X09 : privacy_shock"]) == {"X03": "other", "X09": "privacy_shock"}
    for bad, msg in ((["X03"], "EVENT_ID:GROUP"), (["X03:nope"], "unknown group"), (["X03:other", "X03:other"],
                                                                                      "twice")):
        with pytest.raises(ValueError, match=msg):
            parse_groups(bad)


@functools.lru_cache(maxsize=4)
def demo_fit(seed: int):
    """The study fit of the default demo selection (SYNTHETIC) for ``seed``, cached per test run."""
    from analysis.data.demo.world import generate_demo
    from analysis.data.events import load_events
    from analysis.data.studies.registry import StudyData
    from analysis.models.events import estimates as study
    from analysis.params import StudyParams

    d = generate_demo(seed=seed)
    data = StudyData(name="demo", title="demo", synthetic=True, panel=d.panel, events=load_events(), chart_depth=200,
                     truth=d)
    return study.fit_study(data, StudyParams(seed=seed))


def _demo_contrasts(seed: int) -> pl.DataFrame:
    return demo_fit(seed).attribution


def _coverage_rows() -> pl.DataFrame:
    """Deplatforming and privacy-shock rows with a point estimate and a non-zero truth, 3 seeds."""
    return pl.concat([_demo_contrasts(seed).filter(pl.col("group").is_in(["deplatforming", "privacy_shock"]),
                                                   pl.col("kind") == "estimate", pl.col("true_value") != 0)
                      .with_columns(pl.lit(seed).alias("seed")) for seed in (20210108, 7, 11)])


COVERED = ((pl.col("ci_low") <= pl.col("true_value")) & (pl.col("true_value") <= pl.col("ci_high"))).mean()


@pytest.mark.slow
def test_group_intervals_cover_the_reranked_demo_truth_at_the_issues_target():
    """95% intervals of the group contributions against the generator's truth (its world re-ranked
    with the group's terms off), default demo and two other seeds, pooled (issue: >= 0.90 over at
    least 30 rows).  Measured: 0.907 (127 of 140 rows; per seed 0.936, 0.936, 0.848).  Without the
    rounding term (``position_rounding_sd``) it was 0.871: the misses sat near the top of the chart,
    where whole positions are coarse on the log scale."""
    c = _coverage_rows()
    assert c.height >= 30
    assert c.select(COVERED).item() >= 0.90, c.group_by("seed", "group").agg(pl.len(), COVERED.alias("coverage"))
    truth = c["true_value"].to_numpy()
    assert np.corrcoef(c["estimate"].to_numpy(), truth)[0, 1] > 0.95  # the contrasts track the truth


@pytest.mark.parametrize("v1,v0", [(3.2, 4.1), (2.0, 2.3), (10.4, 10.4), (150.0, 180.0), (1.0, 1.6), (0.6, 2.5)])
def test_position_rounding_sd_matches_simulated_rounding(v1, v0):
    """An independent reference: Monte Carlo offsets (shared by worlds less than one place apart,
    independent beyond), positions rounded to whole places and floored at #1; the rms error of the
    log ratio agrees with ``position_rounding_sd`` to 3%, and is 0 where the worlds coincide."""
    from analysis.models.events.attribution import position_rounding_sd

    rng = np.random.default_rng(5)
    u1 = rng.uniform(-0.5, 0.5, 400_000)
    u0 = u1 if abs(v1 - v0) < 1 else rng.uniform(-0.5, 0.5, u1.size)
    a, b = np.maximum(np.floor(v1 + u1 + 0.5), 1), np.maximum(np.floor(v0 + u0 + 0.5), 1)
    rms = float(np.sqrt((((np.log(a) - np.log(b)) - (np.log(v1) - np.log(v0))) ** 2).mean()))
    got = float(position_rounding_sd(np.log(np.array([v1])), np.log(np.array([v0])))[0])
    if v1 == v0:
        assert got == 0.0 and rms == 0.0
    else:
        assert got == pytest.approx(rms, rel=0.03)
    assert position_rounding_sd(np.log(np.array([150.0])), np.log(np.array([180.0])))[0] < 0.005


def test_rounding_widens_intervals_only_for_position_outcomes():
    """Views are not positions: the same fit's contrasts keep the coefficients' se; on ranks the
    se grows, most where the fitted rank is small."""
    days = {"X01": 40, "X02": 55}
    panel = simulate({40: -1.0, 55: -0.5}, seed=3).with_columns(pl.col("rank") / 15)  # near the top: ranks 1-5
    reg = registry(days)
    f = fit_events(panel, build_event_design(reg, START, START + timedelta(days=T - 1)), errors="ar1", min_pre=14,
                   window_days=WINDOW)
    groups = event_groups(reg, None)
    keep = pl.col("kind") == "estimate"
    plain, ranked = (contrasts(f, groups, WINDOW, positions=p).filter(keep) for p in (False, True))
    se0, se1 = plain["se"].to_numpy(), ranked["se"].to_numpy()
    assert np.all(se1 >= se0) and np.any(se1 > 1.05 * se0)
    assert plain["estimate"].to_list() == ranked["estimate"].to_list()
