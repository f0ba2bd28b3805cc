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
