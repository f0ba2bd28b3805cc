"""Figures stay drawable for a 2,000-series panel (issue 20): each draws at most a fixed number
of units, chosen by its stated criterion (checked against a hand-built ranking), says so in its
subtitle, and the capped spec renders to SVG."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import polars as pl
import pytest

from analysis.figures import scale
from analysis.figures.robustness import cutoff_heatmap, placebo_strip

N_APPS, COUNTRIES = 1000, ["us", "gb"]  # 2,000 series


def _apps() -> list[str]:
    return [f"App{i:04d}" for i in range(N_APPS)]


def _effect(i: int, c: str) -> float:
    """A known effect per series: |effect| grows with i, sign alternates, gb is half of us."""
    return (-1) ** i * (i / N_APPS) * (1.0 if c == "us" else 0.5)


def test_top_units_keeps_the_highest_scores_and_counts_all():
    df = pl.DataFrame({"k": ["a", "a", "b", "c", "d"], "v": [1.0, -9.0, 3.0, None, 2.0]})
    kept, total = scale.top_units(df, ["k"], 2, pl.col("v").abs().max())
    assert total == 4 and sorted(kept["k"].unique().to_list()) == ["a", "b"]  # |−9| and 3
    assert kept.height == 3  # every row of a kept unit
    same, total = scale.top_units(df, ["k"], 10)
    assert same.equals(df) and total == 4
    assert scale.shown_note(4, 4, "apps", "x") == ""
    assert scale.shown_note(2, 4, "apps", "x") == "Showing 2 of 4 apps (x); every one is in the tables."


def _subtitle(spec: dict) -> list[str]:
    return spec["title"]["subtitle"]


def test_the_placebo_strip_of_2000_series_shows_the_40_largest_real_estimates():
    rows = [(a, c, _effect(i, c)) for i, a in enumerate(_apps()) for c in COUNTRIES]
    actual = pl.DataFrame(rows, schema=["app_name", "country", "estimate"], orient="row").with_columns(
        pl.lit("level").alias("term"))
    placebo = pl.concat([actual.drop("term").with_columns(pl.lit(date(2020, 12, 1) + timedelta(days=d)).alias("placebo_date"),
                                                          pl.col("estimate") * 0.1) for d in range(3)])
    spec = placebo_strip(placebo, actual, False).to_dict()
    want = sorted(sorted(rows, key=lambda r: -abs(r[2]))[: scale.MAX_ROWS])
    want_series = sorted(f"{a} · {c.upper()}" for a, c, _ in want)
    datasets = spec["datasets"].values()
    drawn = {r["series"] for d in datasets for r in d if "series" in r}
    assert sorted(drawn) == want_series  # the top 40 by |estimate|: App0999 us, App0998 us, ...
    assert "Showing 40 of 2,000 series (the largest |real estimate|); every one is in the tables." in _subtitle(spec)


def test_the_cutoff_heatmap_of_2000_series_is_capped():
    rows = [(a, c, date(2021, 1, 8) + timedelta(days=s), s * s * 1.0, _effect(i, c), s == 0, "")
            for i, a in enumerate(_apps()) for c in COUNTRIES for s in (-1, 0, 1)]
    cut = pl.DataFrame(rows, schema=["app_name", "country", "cutoff", "delta_aic", "estimate", "indistinguishable",
                                     "events_on_date"], orient="row")
    spec = cutoff_heatmap(cut, False).to_dict()
    drawn = {r["series"] for d in spec["datasets"].values() for r in d}
    assert len(drawn) == scale.MAX_ROWS and "App0999 · US" in drawn and "App0000 · US" not in drawn
    assert any(s.startswith("Showing 40 of 2,000 series") for s in _subtitle(spec))


def _answer() -> pl.DataFrame:
    rows = []
    for i, a in enumerate(_apps()):
        for c in COUNTRIES:
            e = _effect(i, c)
            rows.append((a, c, "ios", None, "window_average", "estimate", e, e - 0.1, e + 0.1))
            rows.append((a, c, "ios", "X04", "level", "estimate", e / 2, e / 2 - 0.1, e / 2 + 0.1))
    return pl.DataFrame(rows, schema=["app_name", "country", "store", "event_id", "estimand", "kind", "estimate",
                                      "ci_low", "ci_high"], orient="row").with_columns(
        pl.lit(None, pl.Float64).alias("true_value"), pl.lit("").alias("sentence"))


@pytest.mark.slow
def test_the_decomposition_of_2000_series_facets_30_apps_and_renders_to_svg():
    import vl_convert as vlc

    from analysis.data.events import load_events
    from analysis.figures.decomposition import decomposition_chart
    from analysis.report.page.display import VL_VERSION

    spec = decomposition_chart(_answer(), load_events(), False).to_dict()
    drawn = {r["app_name"] for d in spec["datasets"].values() for r in d}
    assert drawn == {f"App{i:04d}" for i in range(N_APPS - scale.MAX_FACET_ROWS, N_APPS)}  # largest |effect|
    assert "Showing 30 of 1,000 apps (the largest |window average|); every one is in the tables." in _subtitle(spec)
    t0 = time.monotonic()
    svg = vlc.vegalite_to_svg(json.loads(json.dumps(spec)), vl_version=VL_VERSION)
    print(f"decomposition of 2,000 series: SVG {len(svg):,} bytes in {time.monotonic() - t0:.1f} s")
    assert svg.startswith("<svg") and "App0999" in svg and "App0000" not in svg


def test_figure_apps_caps_the_per_app_figures_with_a_note():
    shown, note = scale.figure_apps(_apps() * 2)
    assert shown == _apps()[: scale.MAX_ITS]
    assert note.startswith("Showing 12 of 1,000 apps with a figure of their own")
    assert scale.figure_apps(["b", "a"]) == (["a", "b"], "")


def _big_panel(path, n_apps: int) -> list[str]:
    """SYNTHETIC: n_apps apps x {us, gb} daily ranks (their order by a random-walk latent), a tenth
    of the apps climbing from 8 Jan 2021."""
    import numpy as np

    rng = np.random.default_rng(1)
    days = [date(2020, 11, 1) + timedelta(days=d) for d in range(120)]
    frames = []
    for c in COUNTRIES:
        lat = rng.normal(size=(n_apps, 1)) + 0.03 * rng.normal(size=(n_apps, len(days))).cumsum(axis=1)
        lat[: n_apps // 10, 68:] += 1.5
        order = np.argsort(np.argsort(-lat, axis=0), axis=0) + 1
        frames += [pl.DataFrame({"date": days, "store": "ios", "country": c, "chart": "top_free_overall",
                                 "app_id": f"id{i}", "app_name": f"App{i:04d}", "rank": order[i].astype(int),
                                 "chart_depth": n_apps}) for i in range(n_apps)]
    pl.concat(frames).write_parquet(path)
    return [f"App{i:04d}" for i in range(n_apps)]


@pytest.mark.slow
def test_a_2000_series_panel_produces_a_verified_report_with_capped_figures(tmp_path):
    from analysis.report.run import runner
    from analysis.report.run.verify import verify_version

    apps = _big_panel(tmp_path / "panel.parquet", N_APPS)
    out = runner.run("custom", {"panel_file": str(tmp_path / "panel.parquet"), "apps": json.dumps(apps),
                                "countries": "us,gb", "placebo_apps": json.dumps(apps[-3:]), "focus_app": apps[0],
                                "focus_country": "us", "coverage_replicates": "50", "contrast_controls": "gb"},
                     root=tmp_path / "reports")
    assert out.status == "complete", out.message
    assert verify_version(out.path).ok
    from analysis.report.run.storage import read_spec

    subtitles = {p.name.removesuffix(".gz"): _subtitle(read_spec(p)) for p in (out.path / "figures").glob("*.vl.json.gz")}
    assert "Showing 30 of 1,000 apps (the largest |window average|); every one is in the tables." in \
        subtitles["03_summary-decomposition.vl.json"]
    assert any(s.startswith("Showing 40 of 2,000 series") for s in subtitles["04_robustness-placebo-in-time.vl.json"])
    assert len(list((out.path / "figures").glob("02_its-its-*.vl.json.gz"))) == scale.MAX_ITS
    answer = pl.read_csv(out.path / "tables" / "03_summary-answer.csv")
    assert answer.filter(pl.col("estimand") == "window_average").height == 2 * N_APPS  # the tables are never cut
