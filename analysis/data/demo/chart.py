"""Full simulated charts: every app's latent popularity and its position among all apps.

**SYNTHETIC DEMO DATA.**  One chart per (store, country) holds ``N_BACKGROUND`` background apps
plus the named apps of :mod:`analysis.data.demo.effects`.  Each app has a latent log-rank
``z`` (lower = more downloads)::

    z[a,t] = z0[a] + trend[a] (t - t_mid) + dow[a] DOW[weekday t] + xmas[a] X(t)
             + nov[a,t] + sum_k E_k[a,t] + u[a,t],     u[a,t] = rho u[a,t-1] + e[a,t]

Background apps have ``z0 = log(i - 1/2 + U)`` for i = 1..N (about one app per unit of rank,
so a latent shift ``d`` of an app far from the top moves it from rank r to about r e^d), their
own trends, day-of-week amplitudes and Christmas loadings.  The **rank is the position**:
``1 + #{apps listed in the chart with a lower z}``.  Ranks are therefore zero-sum: an app that
climbs pushes every app it passes down by one; an app removed from a store moves every app
below it up by one.  The AR(1) filter is a plain numpy recursion (no scipy import).

Positions of the named apps are computed without sorting the whole chart for every
counterfactual world: the background is sorted once per (chart, day) and each world only
``searchsorted``s its named apps into it (plus the comparisons among the named apps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

N_BACKGROUND = 2500
RHO = 0.6
SIGMA = 0.08


def ar1_filter(shocks: np.ndarray, rho: float, axis: int = -1, stationary: bool = True) -> np.ndarray:
    """AR(1) paths along ``axis``: ``u[t] = rho u[t-1] + e[t]`` (Box & Jenkins 1976, ch. 3), started
    from the stationary distribution ``u[0] = e[0] / sqrt(1 - rho^2)`` or, with
    ``stationary=False``, at ``u[0] = e[0]`` (what ``scipy.signal.lfilter([1], [1, -rho], e)``
    gives, in plain numpy: importing ``scipy.signal`` costs seconds per report kernel)."""
    e = np.moveaxis(shocks, axis, 0)
    out = np.empty_like(e)
    out[0] = e[0] / np.sqrt(1.0 - rho * rho) if stationary else e[0]
    for t in range(1, e.shape[0]):
        np.multiply(out[t - 1], rho, out=out[t])
        out[t] += e[t]
    return np.moveaxis(out, 0, axis)


@dataclass(frozen=True)
class World:
    """The simulated charts; arrays are (chart, day, app) with charts ordered as ``charts``.

    ``background`` is (chart, day, N) latent log-ranks of the background apps; ``base`` the
    named apps' latent log-rank *without* any registry event; ``term_effect[k]`` the latent
    effect of term ``term_ids[k]`` and ``term_removal[k]`` the days an app is off the store
    because of that term.
    """

    days: list[date]
    charts: list[tuple[str, str]]  # (store, country)
    apps: list[str]
    background: np.ndarray
    base: np.ndarray
    term_ids: list[str]
    term_effect: np.ndarray  # (K, C, T, A)
    term_removal: np.ndarray  # (K, C, T, A) bool

    def __post_init__(self) -> None:
        lo, hi = float(self.background.min()), float(self.background.max())
        span = hi - lo + 1.0
        c, t, n = self.background.shape
        offsets = (np.arange(c * t, dtype=float) * span).reshape(c, t, 1)
        flat = np.sort(self.background, axis=2)
        flat -= lo
        flat += offsets
        flat = flat.ravel()
        object.__setattr__(self, "_lo", lo)
        object.__setattr__(self, "_hi", hi)
        object.__setattr__(self, "_span", span)
        object.__setattr__(self, "_sorted", flat)

    def latent(self, without: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(z, removed) of the named apps in the world with every term except ``without``."""
        keep = np.array([k not in without for k in self.term_ids], dtype=bool)
        z = self.base + self.term_effect[keep].sum(axis=0)
        removed = self.term_removal[keep].any(axis=0)
        return z, removed

    def positions(self, z: np.ndarray, removed: np.ndarray, days: slice = slice(None)) -> np.ndarray:
        """Position of every named app among all listed apps of its chart and day (NaN where
        the app is removed); ``z`` and ``removed`` are (chart, day, app); ``days`` restricts the
        computation to some days (the result has only those)."""
        c, t, n = self.background.shape
        z, removed = z[:, days], removed[:, days]
        rows = np.arange(c * t).reshape(c, t)[:, days]
        q = np.clip(z, self._lo - 0.25, self._hi + 0.25) - self._lo + (rows * self._span)[..., None]
        below_bg = np.searchsorted(self._sorted, q.ravel(), side="left").reshape(z.shape) - (rows * n)[..., None]
        listed = ~removed
        below_named = ((z[..., None, :] < z[..., :, None]) & listed[..., None, :]).sum(axis=-1)
        pos = (1 + below_bg + below_named).astype(float)
        pos[removed] = np.nan
        return pos

    def full_chart(self, store: str, country: str, without: tuple[str, ...] = ()) -> pl.DataFrame:
        """Every listed app's position in one chart on every day, by sorting the whole chart
        (an independent check of :meth:`positions`): date, app_name (``bg0001``.. for the
        background), rank."""
        ci = self.charts.index((store, country))
        z, removed = self.latent(without)
        zn = np.where(removed[ci], np.inf, z[ci])
        allz = np.concatenate([self.background[ci], zn], axis=1)  # (T, N + A)
        rank = np.empty_like(allz, dtype=np.int64)
        order = np.argsort(allz, axis=1, kind="stable")
        np.put_along_axis(rank, order, np.arange(1, allz.shape[1] + 1)[None, :].repeat(allz.shape[0], 0), axis=1)
        names = [f"bg{i + 1:04d}" for i in range(self.background.shape[2])] + self.apps
        frame = pl.DataFrame({
            "date": np.repeat(np.array(self.days, dtype="datetime64[D]"), allz.shape[1]),
            "app_name": names * len(self.days),
            "rank": rank.ravel(),
            "listed": np.isfinite(allz).ravel(),
        })
        return frame.filter(pl.col("listed")).drop("listed").with_columns(pl.col("date").cast(pl.Date))


def simulate_background(rng: np.random.Generator, n_charts: int, weekday: np.ndarray, xmas: np.ndarray,
                        dow_pattern: np.ndarray) -> np.ndarray:
    """(chart, day, N) latent log-ranks of the background apps: base ranks one per unit of
    rank, trends (about +-0.1 log-rank per month), day-of-week amplitudes, Christmas loadings
    and AR(1) noise."""
    n_t = weekday.size
    t = np.arange(n_t, dtype=float)
    shape = (n_charts, 1, N_BACKGROUND)
    z0 = np.log(np.arange(1, N_BACKGROUND + 1) - 0.5 + rng.uniform(size=shape))
    trend = rng.normal(0.0, 0.1 / 30, size=shape)
    dow_amp = rng.normal(0.5, 1.0, size=shape)
    xmas_load = rng.normal(0.0, 0.3, size=shape)
    z = ar1_filter(rng.normal(0.0, SIGMA, size=(n_charts, n_t, N_BACKGROUND)), RHO, axis=1)
    z += z0
    z += trend * (t - t.mean())[None, :, None]
    z += dow_amp * dow_pattern[weekday][None, :, None]
    z += xmas_load * xmas[None, :, None]
    return z
