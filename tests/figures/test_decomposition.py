"""Decomposition figure: marks sit at their values; bounds are one-sided; one shared legend."""

from __future__ import annotations

import polars as pl
import pytest

from analysis.data.events import load_events
from analysis.figures.decomposition import decomposition_chart, figure_frame, x_domain
from analysis.report.answer.table import answer_table
from tests.answer_fixtures import effects, truth

vlc = pytest.importorskip("vl_convert")
W = 150


@pytest.fixture(scope="module")
def events():
    return load_events()


def marks(node, out=None):
    """Scenegraph mark groups by name -> list of items (pixel positions inside their panel)."""
    out = {} if out is None else out
    if isinstance(node, dict):
        if node.get("role") == "mark" and "name" in node:
            out.setdefault(node["name"], []).extend(node.get("items", []))
        for v in node.values():
            marks(v, out)
    elif isinstance(node, list):
        for v in node:
            marks(v, out)
    return out


def roles(node, role, n=0):
    if isinstance(node, dict):
        n += node.get("role") == role
        return sum(roles(v, role) for v in node.values()) + n
    if isinstance(node, list):
        return sum(roles(v, role) for v in node) + n
    return n


def px(v, dom):
    return (v - dom[0]) / (dom[1] - dom[0]) * W


def test_estimates_and_intervals_sit_at_their_values_on_the_x_axis(events):
    a = answer_table(effects().filter(pl.col("app_name") == "Telegram", pl.col("country") == "gb"),
                     truth=None, synthetic=False, events=events)
    dom = x_domain(figure_frame(a, events))
    sg = vlc.vegalite_to_scenegraph(decomposition_chart(a, events, False, panel_width=W).to_dict())
    m = marks(sg)
    points = sorted(i["x"] for k, v in m.items() for i in v if i.get("shape") == "circle" and i.get("fill"))
    assert points == pytest.approx(sorted([px(-1.2, dom), px(-0.9, dom)]), abs=0.01)  # slope left out
    ranges = sorted(c for v in m.values() for i in v if "x2" in i for c in (i["x"], i["x2"]))
    assert ranges == pytest.approx(sorted([px(-1.6, dom), px(-0.8, dom), px(-1.1, dom), px(-0.7, dom)]), abs=0.01)
    zero = [i["x"] for v in m.values() for i in v if "x2" not in i and "shape" not in i and "y2" in i]
    assert zero and all(z == pytest.approx(px(0.0, dom), abs=0.01) for z in zero)


def test_bounds_are_one_sided_triangles_at_the_bound_and_truth_is_drawn(events):
    a = answer_table(effects().filter(pl.col("app_name") == "Signal"), truth=truth(), synthetic=True, events=events)
    f = figure_frame(a, events)
    dom = x_domain(f)
    assert dom[0] < -4.1 and dom[1] > 0
    m = marks(vlc.vegalite_to_scenegraph(decomposition_chart(a, events, True, panel_width=W).to_dict()))
    tri = sorted((round(i["x"], 2), i["shape"]) for v in m.values() for i in v if str(i.get("shape", "")).startswith("tri"))
    # X01 upper bound -1.1 and the floored window average (ci_high -3.2): the effect lies to the left
    assert tri == sorted([(round(px(-1.1, dom), 2), "triangle-left"), (round(px(-3.2, dom), 2), "triangle-left")])
    texts = [i.get("text") for v in m.values() for i in v if "text" in i]
    assert "not identified" in texts
    spec = decomposition_chart(a, events, True).to_dict()
    assert spec["title"]["text"].startswith("SYNTHETIC DEMO DATA")
    ticks = [layer for layer in spec["spec"]["layer"] if layer["mark"].get("type") == "tick"]
    assert ticks and ticks[0]["encoding"]["x"]["field"] == "true_value"


def test_one_shared_legend_for_all_panels(events):
    a = answer_table(effects(), truth=None, synthetic=False, events=events)
    spec = decomposition_chart(a, events, False).to_dict()
    assert spec["facet"]["row"]["field"] == "app_name" and spec["facet"]["column"]["field"] == "panel"
    assert spec.get("resolve", {}).get("scale", {}).get("x") == "shared"
    sg = vlc.vegalite_to_scenegraph(spec)
    assert roles(sg, "legend") == 1
    assert figure_frame(a, events)["panel"].n_unique() == 3  # US, GB, IN panels, one legend


@pytest.mark.parametrize("n_countries", [1, 6, 12])
def test_the_figure_fits_in_1280_px_for_up_to_twelve_panels(events, n_countries):
    """Issue 21: the decomposition SVG was 1,696 px wide with six countries."""
    import re

    from analysis.figures.decomposition import MAX_WIDTH

    base = effects()
    codes = ["us", "gb", "de", "fr", "in", "br", "ca", "it", "jp", "es", "mx", "au"][:n_countries]
    eff = pl.concat([base.with_columns(pl.lit(c).alias("country")).unique(
        subset=["app_name", "country", "store", "event_id", "estimand"]) for c in codes])
    a = answer_table(eff, truth=None, synthetic=False, events=events)
    chart = decomposition_chart(a, events, False)
    assert figure_frame(a, events)["panel"].n_unique() == n_countries
    svg = vlc.vegalite_to_svg(chart.to_dict())
    width = float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', svg).group(1))
    assert width <= MAX_WIDTH
    if n_countries == 6:
        assert width > 0.8 * MAX_WIDTH  # the room is used, not wasted
