"""Strict JSON: specs and manifests never carry NaN/Infinity, and JSON in HTML cannot close its script element."""

from __future__ import annotations

import json

from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


def test_json_in_html_cannot_close_or_comment_out_its_script_element():
    from analysis.figures.safejson import script_json
    from analysis.report.page.display import spec_html

    spec = {"data": {"values": [{"app": "<!--<script>", "y": float("nan")}, {"app": "</script>&\u2028\u2029", "y": 1.0}]}}
    html_text = spec_html(spec)
    from analysis.report.page.vega_pin import unpack_spec

    packed = html_text.split('class="exodus-spec-gz">', 1)[1].rsplit("</script>", 1)[0]
    assert "<" not in packed and ">" not in packed and "&" not in packed  # base64 cannot close the element
    body = unpack_spec(packed)
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body and "NaN" not in body
    back = json.loads(body)
    assert back["data"]["values"][0] == {"app": "<!--<script>", "y": None}
    assert back["usermeta"]["exodus_nonfinite"] == ["$.data.values[0].y: nan written as null"]
    assert json.loads(script_json({"x": "</script>"})) == {"x": "</script>"}


def test_manifest_is_strict_json_with_a_note(tmp_path):
    from analysis.report.run.publish import write_manifest

    write_manifest(tmp_path, {"parameters": {"downloads_exponent": [1.0, float("inf")]}})
    text = (tmp_path / "manifest.json").read_text()
    assert "Infinity" not in text
    m = json.loads(text)
    assert m["parameters"]["downloads_exponent"] == [1.0, None]
    assert m["json_notes"] == ["$.parameters.downloads_exponent[1]: inf written as null"]


def test_figure_spec_files_are_strict_json(tmp_path):
    import altair as alt

    from analysis.report.page.outputs import write_figure

    chart = alt.Chart(alt.Data(values=[{"x": 1, "y": float("nan")}, {"x": 2, "y": 3.0}])).mark_point().encode(x="x:Q", y="y:Q")
    paths = write_figure(chart, tmp_path / "f", png=False)
    text = paths[0].read_text()
    assert "NaN" not in text and json.loads(text)["usermeta"]["exodus_nonfinite"]
