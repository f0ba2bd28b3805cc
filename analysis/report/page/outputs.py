"""Saving a notebook's figures and tables into its report version.

Notebooks call :class:`Outputs`; each figure is displayed and written as Vega-Lite JSON (gzipped
when the run finishes, :mod:`analysis.report.run.storage`) and a static SVG (:func:`static_svg`),
each table displayed (escaped HTML) and written as CSV.  Outside a report run
(``output_dir`` is None) nothing is written, so the same notebook works in JupyterLab.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import altair as alt
import polars as pl

from analysis.data.slug import inside, slug
from analysis.figures.common import VL_VERSION
from analysis.figures.safejson import strict_spec

# Characters XML 1.0 forbids (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF):
# vl-convert's SVG text renderer aborts the whole process on them (a Rust panic that cannot
# unwind), so a data-derived label such as an app name holding U+0008 would kill the kernel.
_NON_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def svg_safe(value: object) -> object:
    """``value`` (a Vega-Lite spec) with every XML-illegal character in its strings replaced by
    U+FFFD, for the static SVG/PNG renders only (the JSON spec keeps the data as it is)."""
    if isinstance(value, str):
        return _NON_XML.sub("\ufffd", value)
    if isinstance(value, dict):
        return {svg_safe(k): svg_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [svg_safe(v) for v in value]
    return value


# Geometry attributes of Vega's SVG: their numbers are pixel positions, printed with up to 17
# digits; 2 decimals (1/100 px) draw the same picture.  Text (labels, titles) is left as it is.
_GEOMETRY = re.compile(r'( (?:d|transform|x|y|x1|y1|x2|y2|width|height|points)=")([^"]*)(")')
_LONG_NUMBER = re.compile(r"-?\d+\.\d{3,}(?:e-?\d+)?")


def _round_number(match: re.Match) -> str:
    text = f"{float(match.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def round_geometry(svg: str) -> str:
    """``svg`` with every number of a geometry attribute rounded to 2 decimals."""
    return _GEOMETRY.sub(lambda m: m.group(1) + _LONG_NUMBER.sub(_round_number, m.group(2)) + m.group(3), svg)


def static_svg(spec: dict) -> str:
    """The SVG file of a figure: drawn from ``spec`` (XML-safe, :func:`svg_safe`) without Vega's
    per-mark ARIA labels (each repeats the mark's tooltip, most of the file; the report page draws
    the interactive chart with its tooltips and labels from the same spec), geometry rounded to
    1/100 px (:func:`round_geometry`)."""
    import vl_convert as vlc

    spec = svg_safe(spec)
    spec = {**spec, "config": {**(spec.get("config") or {}), "aria": False}}
    return round_geometry(vlc.vegalite_to_svg(spec, vl_version=VL_VERSION))


def write_figure(chart: alt.TopLevelMixin | dict, stem: Path, png: bool = True) -> list[Path]:
    """Write ``stem.vl.json``, ``stem.svg`` (and ``stem.png``) of a chart or its Vega-Lite spec;
    return the paths."""
    import vl_convert as vlc

    spec = strict_spec(chart if isinstance(chart, dict) else chart.to_dict())  # NaN/Infinity -> null, noted
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_name(stem.name + ".vl.json"), stem.with_name(stem.name + ".svg")]
    out[0].write_text(json.dumps(spec, sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    svg = static_svg(spec)
    out[1].write_text(svg, encoding="utf-8")
    if png:  # rasterise the SVG just drawn: the same bytes as vegalite_to_png, without a second Vega run
        out.append(stem.with_name(stem.name + ".png"))
        out[2].write_bytes(vlc.svg_to_png(svg, scale=1))  # native size, <= 1,280 px; from the SVG just drawn
    return out


def export_pngs(version_dir: Path, out_dir: Path, scale: float = 1.0) -> list[Path]:
    """PNG copies of a version's figures (rasterised from its SVGs) written into ``out_dir``,
    never into the version itself (a published version is immutable): report runs store the
    Vega-Lite spec and the SVG of every figure, and a paper that needs bitmaps asks for them here."""
    import vl_convert as vlc

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for svg in sorted((Path(version_dir) / "figures").glob("*.svg")):
        target = out_dir / (svg.name.removesuffix(".svg") + ".png")
        target.write_bytes(vlc.svg_to_png(svg.read_text(encoding="utf-8"), scale=scale))
        written.append(target)
    return written


def write_table(df: pl.DataFrame, path: Path) -> Path:
    """Write a table as CSV with a fixed float precision, so reruns are byte-identical."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_csv(path, float_precision=8, date_format="%Y-%m-%d")
    return path


def html_table(df: pl.DataFrame, caption: str = "", max_rows: int = 200) -> str:
    """Escaped HTML table (data strings such as event titles are shown as text)."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e-3 or abs(v) >= 1e5 else f"{v:.4f}".rstrip("0").rstrip(".")
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in df.head(max_rows).iter_rows()
    )
    more = f"<p class='exodus-more'>{df.height - max_rows} more rows in the CSV.</p>" if df.height > max_rows else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table class='exodus-table'>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


class Outputs:
    """Figures and tables of one notebook, saved under ``output_dir`` when it is set.

    Names pass through :func:`analysis.data.slug.slug` (names built from data, e.g. an app
    name, can never leave the version directory) and every path is checked with
    :func:`analysis.data.slug.inside`.
    """

    def __init__(self, output_dir: str | None, notebook: str) -> None:
        self.root = Path(output_dir) if output_dir else None
        self.notebook = notebook
        self._names: dict[Path, str] = {}  # path -> the name that took it (two names never share a file)

    def path(self, kind: str, name: str, suffix: str = "") -> Path:
        """``<output_dir>/<kind>/<notebook>-<slug(name)><suffix>``, confined to ``output_dir``."""
        assert self.root is not None
        path = inside(self.root, Path(kind) / f"{slug(self.notebook)}-{slug(name)}{suffix}", f"{kind[:-1]} name")
        if self._names.setdefault(path, name) != name:
            raise ValueError(f"{kind[:-1]} names {self._names[path]!r} and {name!r} map to the same file {path.name}; "
                             "refused rather than overwrite one with the other")
        return path

    def figure(self, name: str, chart: alt.TopLevelMixin, description: str) -> None:
        """Display ``chart`` with its description and save it as ``figures/<notebook>-<name>``
        (Vega-Lite spec and SVG; PNGs on request: :func:`export_pngs`).  The spec is built once
        and serves both the files and the display; it is not re-validated against the schema in
        Python, because drawing its SVG compiles it with Vega-Lite itself, which refuses an
        invalid spec (a figure that cannot be drawn fails its cell)."""
        from IPython.display import HTML, display

        from analysis.report.page.display import RENDERER, spec_html

        spec = chart.to_dict(validate=False)
        if self.root is not None:
            write_figure(spec, self.path("figures", name), png=False)
        if alt.renderers.active == RENDERER:  # the report's offline renderer, from the spec already built
            display({"text/html": spec_html(spec), "text/plain": "<altair chart>"}, raw=True)
        else:
            display(chart)
        display(HTML(f"<p class='exodus-figdesc'><b>Figure {html.escape(name)}.</b> {html.escape(description)}</p>"))

    def table(self, name: str, df: pl.DataFrame, caption: str) -> None:
        """Display ``df`` and save it as ``tables/<notebook>-<name>.csv``."""
        from IPython.display import HTML, display

        if self.root is not None:
            write_table(df, self.path("tables", name, ".csv"))
        display(HTML(html_table(df, caption)))


    def note(self, text: str) -> None:
        """Display a short statement (escaped) in the notebook and the report."""
        from IPython.display import HTML, display

        display(HTML(f"<p class='exodus-note'><b>{html.escape(text)}</b></p>"))


def banner(synthetic: bool, title: str) -> None:
    """Show the synthetic-data banner (or the study title) at the top of a notebook."""
    from IPython.display import HTML, display

    if synthetic:
        display(HTML(
            "<div class='banner' style='background:#b00020;color:#fff;font-weight:700;padding:.5em'>"
            f"{html.escape(title)}: simulated ranks with known true effects, not observations.</div>"
        ))
    else:
        display(HTML(f"<p><b>{html.escape(title)}</b></p>"))
