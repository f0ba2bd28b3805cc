"""Random-effects pooling against independent computations: statsmodels' DerSimonian-Laird and a
restricted likelihood maximised numerically with scipy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from analysis.models.events.pooling import pool, pool_frame

Y = np.array([0.10, 0.30, 0.35, 0.65, 0.45, 0.15, -0.05, 0.90])
SE = np.array([0.12, 0.18, 0.10, 0.22, 0.15, 0.09, 0.20, 0.30])


def test_dersimonian_laird_equals_statsmodels():
    from statsmodels.stats.meta_analysis import combine_effects

    ref = combine_effects(Y, SE**2, method_re="dl")
    got = pool(Y, SE, "dl")
    row = ref.summary_frame().loc["random effect"]
    assert got.tau2 == pytest.approx(ref.tau2, rel=1e-10)
    assert got.estimate == pytest.approx(row["eff"], rel=1e-10)
    assert got.se == pytest.approx(row["sd_eff"], rel=1e-10)
    assert (got.ci_low, got.ci_high) == pytest.approx((row["ci_low"], row["ci_upp"]), rel=1e-10)
    assert got.q == pytest.approx(ref.q, rel=1e-10)
    assert got.i2 == pytest.approx((ref.q - (len(Y) - 1)) / ref.q, rel=1e-10)


def test_reml_maximises_the_restricted_likelihood():
    from scipy.optimize import minimize_scalar

    def neg_restricted_loglik(tau2: float) -> float:
        v = SE**2 + tau2
        w = 1 / v
        mu = np.sum(w * Y) / np.sum(w)
        return 0.5 * (np.sum(np.log(v)) + np.log(np.sum(w)) + np.sum(w * (Y - mu) ** 2))

    ref = minimize_scalar(neg_restricted_loglik, bounds=(0, 5), method="bounded", options={"xatol": 1e-12})
    got = pool(Y, SE, "reml")
    assert got.tau2 == pytest.approx(ref.x, rel=1e-6)
    w = 1 / (SE**2 + ref.x)
    assert got.estimate == pytest.approx(np.sum(w * Y) / np.sum(w), rel=1e-6)
    assert got.se == pytest.approx(np.sqrt(1 / np.sum(w)), rel=1e-6)


def test_homogeneous_groups_pool_to_the_fixed_effect_estimate():
    y = np.array([0.5, 0.5, 0.5])
    got = pool(y, [0.1, 0.2, 0.3])
    assert got.tau2 == 0 and got.i2 == 0 and got.estimate == pytest.approx(0.5)
    assert got.se == pytest.approx((1 / 0.01 + 1 / 0.04 + 1 / 0.09) ** -0.5)
    one = pool([0.2], [0.1])
    assert (one.estimate, one.se, one.n_groups) == (pytest.approx(0.2), pytest.approx(0.1), 1)
    with pytest.raises(ValueError, match="positive"):
        pool([0.1, 0.2], [0.1, 0.0])


def test_pool_frame_pools_estimates_per_term_and_counts_the_rest():
    eff = pl.DataFrame({"event_id": ["X03"] * 3 + ["X06"] * 2, "estimand": "level",
                        "kind": ["estimate", "estimate", "not_identified", "estimate", "estimate"],
                        "estimate": [0.1, 0.3, None, -1.0, -0.8], "se": [0.1, 0.1, None, 0.2, 0.2]})
    out = pool_frame(eff).sort("event_id")
    assert out["n_groups"].to_list() == [2, 2] and out["n_excluded"].to_list() == [1, 0]
    assert out["estimate"][0] == pytest.approx(pool([0.1, 0.3], [0.1, 0.1]).estimate)
