"""Self-contained HTML pages of a report: one per notebook, a version landing page, the index.

Pages work offline: no external scripts, styles or fonts.  Vega libraries are inlined once per
page (only on pages with charts).  Every string that comes from data or parameters is escaped.
Code cells are hidden by default; a button shows them.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import nbformat

from analysis.data.demo.world import SYNTHETIC_LABEL
from analysis.report.answer.section import AnswerSection, answer_html
from analysis.report.page.display import spec_html, vega_bundle

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header.exodus{background:#f5f5f7;border-bottom:1px solid #ddd;padding:.6em 1.5em}
header.exodus nav a{margin-right:1em}
main{max-width:1100px;margin:0 auto;padding:1em 1.5em 4em}
.banner{background:#b00020;color:#fff;font-weight:700;padding:.5em 1.5em;letter-spacing:.04em}
.status-failed{background:#b00020;color:#fff;padding:.1em .4em;border-radius:3px}
.status-complete{background:#1b7f3b;color:#fff;padding:.1em .4em;border-radius:3px}
.status-broken,.integrity-tampered,.integrity-broken{color:#b00020;font-weight:700}
.integrity-verified{color:#1b7f3b}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
caption{text-align:left;font-weight:600;padding:.3em 0;min-width:24em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
div.input{border-left:3px solid #bbb;margin:.4em 0}
body:not(.show-code) div.input, body:not(.show-code) div.prompt{display:none}
div.prompt{display:none}
.output_stderr pre{background:#fff4e5}
button.toggle-code{margin-left:1em}
.exodus-figdesc{color:#333;font-size:.9em;max-width:60em}
.exodus-chart{margin:1em 0}
table{display:block;max-width:100%;overflow-x:auto}
.exodus-chart,.output_html,.output_subarea{max-width:100%;overflow-x:auto}
img,svg{max-width:100%}
#answer p.answer-app{max-width:60em;line-height:1.45}
#answer p.answer-note{max-width:60em;color:#333;font-size:.9em}
"""

TOGGLE = (
    "<button class='toggle-code' type='button' "
    "onclick=\"document.body.classList.toggle('show-code');"
    "this.textContent=document.body.classList.contains('show-code')?'Hide code':'Show code';\">"
    "Show code</button>"
)


def page(title: str, body: str, *, nav: list[tuple[str, str]] = (), synthetic: bool = False,
         charts: bool = False, toggle: bool = False) -> str:
    """A complete offline HTML page."""
    links = "".join(f"<a href='{html.escape(href)}'>{html.escape(label)}</a>" for label, href in nav)
    banner = (
        f"<div class='banner'>{SYNTHETIC_LABEL}: every number on this page comes from a seeded "
        "simulation with known true effects, not from app-store observations.</div>"
        if synthetic else ""
    )
    script = f"<script type='module'>{vega_bundle()}</script>" if charts else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{banner}"
        f"<header class='exodus'><nav>{links}{TOGGLE if toggle else ''}</nav></header>"
        f"<main>{body}</main>{script}</body></html>"
    )


@cache
def _exporter():
    """One nbconvert exporter per process: its Jinja templates compile once, not per notebook."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic")


def notebook_body(nb_path: Path) -> str:
    """The cells of an executed notebook as HTML (nbconvert's 'basic' template: no head, no CDN).

    This is ``HTMLExporter.from_notebook_node`` without its final BeautifulSoup pass, which
    re-parses the whole page (about 0.6 s per notebook, most of the page-writing time) only to add
    ``alt`` to images that lack one (the report's figures are charts, not images) and
    ``tabindex="0"`` to cell wrappers, which :func:`_focusable` adds directly."""
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    exporter = _exporter()
    nb = nbformat.read(nb_path, as_version=4)
    lang = nb.metadata.get("language_info", {})
    resources = exporter._init_resources(None)
    exporter.register_filter("highlight_code", Highlight2HTML(
        pygments_lexer=lang.get("pygments_lexer", lang.get("name")), parent=exporter))
    exporter.register_filter("filter_data_type", WidgetsDataTypeFilter(
        notebook_metadata=exporter._nb_metadata, parent=exporter, resources=resources))
    body, _ = TemplateExporter.from_notebook_node(exporter, nb, resources)
    return _focusable(body)


def _focusable(body: str) -> str:
    """Cell inputs and outputs reachable by keyboard, as nbconvert's HTML exporter makes them."""
    for cls in ("jp-Cell-inputWrapper", "jp-OutputArea-output"):
        body = re.sub(rf'<div class="{cls}(?=[ "])([^"]*)"(?![^>]*tabindex)', rf'<div class="{cls}\1" tabindex="0"', body)
    return body


def kv_table(rows: dict, caption: str) -> str:
    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def rows_table(rows: list[dict], columns: list[str], caption: str, links: dict[str, str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)

    def cell(row: dict, c: str) -> str:
        v = row.get(c, "")
        text = html.escape("" if v is None else str(v))
        if links and c in links and row.get(links[c]):
            return f"<a href='{html.escape(str(row[links[c]]))}'>{text}</a>"
        if c == "status":
            return f"<span class='status-{text}'>{text}</span>"
        if c == "integrity":
            kind = text.split(":")[0]
            return f"<span class='integrity-{kind}'>{'&#10003; ' if kind == 'verified' else '&#10007; '}{text}</span>"
        return text

    body = "".join("<tr>" + "".join(f"<td>{cell(r, c)}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _esc(v: object) -> str:
    return html.escape("" if v is None else (v if isinstance(v, str) else json.dumps(v)))


def report_page(m: dict, sections: list[tuple[str, str]], files: dict[str, list[str]],
                answer: AnswerSection | None = None) -> str:
    """One self-contained page per version: the answer (when the run produced one, see
    :mod:`analysis.report.answer.section`), summary, parameters, provenance, every notebook."""
    status = m["status"]
    nav = [("All versions", "../../index.html"), ("The answer", "#answer"), ("Summary", "#summary"),
           ("Parameters", "#parameters"),
           ("Provenance", "#provenance")] + [(name, f"#nb-{name}") for name, _ in sections] + [("Files", "#files")]
    parts = [
        f"<section id='summary'><h1>Exodus report {_esc(m['version'])}</h1>",
        f"<p>Study <b>{_esc(m['study'])}</b>: {_esc(m['title'])}. Status: "
        f"<span class='status-{_esc(status)}'>{_esc(status)}</span>. Created {_esc(m['created_utc'])} (UTC).</p>",
    ]
    if m.get("failure"):
        f = m["failure"]
        parts.append(f"<p class='status-failed'>Failed in {_esc(f.get('notebook'))} cell {_esc(f.get('cell_index'))} "
                     f"({_esc(f.get('cell_source', ''))}): {_esc(f.get('error'))}</p>")
    if answer is not None:
        parts.append(answer_html(answer, spec_html(answer.figure_spec) if answer.figure_spec else "",
                                 m["parameters"].get("window_days")))
    else:
        parts.append("<section id='answer'><h2>The answer</h2><p>This run produced no answer table.</p></section>")
    parts.append(rows_table(m["notebooks"], ["notebook", "status", "seconds"], "Notebooks"))
    if m.get("study_notes"):
        parts.append("<h2>What this study measures, and what it cannot say</h2><ul>"
                     + "".join(f"<li>{_esc(n)}</li>" for n in m["study_notes"]) + "</ul>")
    parts.append("</section><section id='parameters'><h2>Parameters</h2>")
    parts.append(kv_table(m["parameters"], "Parameters of this run (exodus params lists all with help)"))
    parts.append("</section><section id='provenance'><h2>Provenance</h2>")
    extra = sorted({k for src in m["sources"] for k in src} - {"name", "licence", "url", "detail"})
    parts.append(rows_table(m["sources"], ["name", "licence", "url", "detail", *extra], "Data sources"))
    parts.append(rows_table(m["inputs"], ["name", "bytes", "sha256"], "Input files (exact copies, gzipped, in inputs/<name>.gz; sha256 of the raw bytes)"))
    g, env = m["git"], m["environment"]
    parts.append(kv_table({"git commit": g.get("commit"), "uncommitted changes": g.get("dirty"),
                           "code fingerprint (SHA-256 of analysis/ and notebooks/)": m["code_fingerprint"],
                           "version hash": m["version_hash"], "python": env["python"], "platform": env["platform"],
                           **env["packages"]}, "Code and environment"))
    parts.append("</section>")
    for name, body in sections:
        parts.append(f"<section id='nb-{_esc(name)}' class='notebook'>{body}</section>")
    links = lambda kind: ", ".join(f"<a href='{kind}/{_esc(f)}'>{_esc(f)}</a>" for f in files.get(kind, []))  # noqa: E731
    parts.append(f"<section id='files'><h2>Files</h2><p>Figures (SVG; Vega-Lite JSON, gzipped): {links('figures')}</p>"
                 f"<p>Tables (CSV): {links('tables')}</p><p>Executed notebooks: "
                 + ", ".join(f"<a href='notebooks/{_esc(n)}.ipynb.gz'>{_esc(n)}.ipynb.gz</a>" for n, _ in sections)
                 + ". Manifest: <a href='manifest.json'>manifest.json</a>.</p></section>")
    body = "".join(parts)
    return page(f"Exodus report {m['version']}", body, nav=nav, synthetic=m["synthetic"],
                charts="exodus-chart" in body, toggle=True)
