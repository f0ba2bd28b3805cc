"""Saving figures: static renders survive any data-derived label."""

from __future__ import annotations

import json
import subprocess
import sys

from analysis.report.page.outputs import svg_safe

SCRIPT = """
import sys, altair as alt, polars as pl
from pathlib import Path
from analysis.report.page.outputs import write_figure
df = pl.DataFrame({"app": ["Sig\\x08nal", "Tele\\x1fgram"], "v": [1, 2]})
chart = alt.Chart(df.to_pandas()).mark_bar().encode(x="app:N", y="v:Q").properties(title="t\\x00")
print([p.name for p in write_figure(chart, Path(sys.argv[1]) / "fig")])
"""


def test_control_characters_in_labels_do_not_abort_the_static_render(tmp_path):
    """vl-convert aborts its process (a Rust panic) on characters XML forbids; an app name
    holding U+0008 killed every kernel of a run.  The render must survive, the JSON spec keep
    the data exactly, and the SVG show U+FFFD where the character was."""
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    spec = json.loads((tmp_path / "fig.vl.json").read_text())
    values = next(iter(spec["datasets"].values()))
    assert [v["app"] for v in values] == ["Sig\x08nal", "Tele\x1fgram"]
    svg = (tmp_path / "fig.svg").read_text()
    assert "Sig\ufffdnal" in svg and "\x08" not in svg and (tmp_path / "fig.png").stat().st_size > 0


def test_svg_safe_replaces_only_what_xml_forbids():
    spec = {"a\x0b": ["ok\ttab\nnl\rcr", "\x00x\ufffe", 1.5, None], "b": {"c": "Ünïcødé 🙂"}}
    assert svg_safe(spec) == {"a\ufffd": ["ok\ttab\nnl\rcr", "\ufffdx\ufffd", 1.5, None], "b": {"c": "Ünïcødé 🙂"}}


def test_a_figure_that_vega_lite_cannot_draw_fails_when_it_is_written(tmp_path):
    """Outputs.figure skips altair's Python schema check (the spec is built once): drawing the
    SVG compiles it with Vega-Lite, which refuses a spec it cannot draw."""
    import pytest

    from analysis.report.page.outputs import write_figure

    bad = {"mark": "nosuchmark", "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a", "type": "quantitative"}}}
    with pytest.raises(Exception, match="Vega-Lite to SVG conversion failed"):
        write_figure(bad, tmp_path / "bad", png=False)


def test_export_pngs_rasterises_a_versions_svgs_elsewhere(tmp_path):
    from analysis.report.page.outputs import export_pngs, write_figure

    version = tmp_path / "v"
    write_figure({"mark": "point", "data": {"values": [{"a": 1}]}, "encoding": {"x": {"field": "a", "type": "quantitative"}}},
                 version / "figures" / "f", png=False)
    out = export_pngs(version, tmp_path / "png")
    assert [p.name for p in out] == ["f.png"] and out[0].read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (version / "figures").iterdir()) == ["f.svg", "f.vl.json"]


def test_the_svg_file_keeps_the_picture_without_per_mark_labels_and_with_rounded_geometry(tmp_path):
    """The static SVG drops Vega's per-mark ARIA labels (each repeats its tooltip) and rounds pixel
    positions to 1/100 px: the same size, a fraction of the bytes."""
    import re

    import vl_convert as vlc

    from analysis.figures.common import VL_VERSION
    from analysis.report.page.outputs import round_geometry, static_svg

    values = [{"x": i / 7, "y": (i * 37 % 101) / 3, "sentence": f"In the US, app {i} climbed " + "far " * 20} for i in range(300)]
    spec = {"mark": "point", "data": {"values": values}, "width": 600,
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                         "tooltip": [{"field": "sentence"}]}}
    full, small = vlc.vegalite_to_svg(spec, vl_version=VL_VERSION), static_svg(spec)
    width = lambda s: re.search(r'<svg[^>]*\swidth="([\d.]+)"', s).group(1)  # noqa: E731
    assert width(small) == width(full) and small.count("<path") == full.count("<path")
    assert "climbed" in full and "climbed" not in small and len(small) < len(full) / 2
    assert not re.search(r'(?:d|transform)="[^"]*\d\.\d{3}', small)
    assert round_geometry('<path d="M98.64876986833133,61h2.5v-0.0001Z"/><text>0.61623</text>') == \
        '<path d="M98.65,61h2.5v0Z"/><text>0.61623</text>'
