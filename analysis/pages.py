"""Self-contained HTML pages of a report: one per notebook, a version landing page, the index.

Pages work offline: no external scripts, styles or fonts.  Vega libraries are inlined once per
page (only on pages with charts).  Every string that comes from data or parameters is escaped.
Code cells are hidden by default; a button shows them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat

from analysis.data.demo import SYNTHETIC_LABEL
from analysis.display import vega_bundle

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fff}
header.exodus{background:#f5f5f7;border-bottom:1px solid #ddd;padding:.6em 1.5em}
header.exodus nav a{margin-right:1em}
main{max-width:1100px;margin:0 auto;padding:1em 1.5em 4em}
.banner{background:#b00020;color:#fff;font-weight:700;padding:.5em 1.5em;letter-spacing:.04em}
.status-failed{background:#b00020;color:#fff;padding:.1em .4em;border-radius:3px}
.status-complete{background:#1b7f3b;color:#fff;padding:.1em .4em;border-radius:3px}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
caption{text-align:left;font-weight:600;padding:.3em 0}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
div.input{border-left:3px solid #bbb;margin:.4em 0}
body:not(.show-code) div.input, body:not(.show-code) div.prompt{display:none}
div.prompt{display:none}
.output_stderr pre{background:#fff4e5}
button.toggle-code{margin-left:1em}
.exodus-figdesc{color:#333;font-size:.9em;max-width:60em}
.exodus-chart{margin:1em 0}
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


def notebook_body(nb_path: Path) -> str:
    """The cells of an executed notebook as HTML (nbconvert's 'basic' template: no head, no CDN)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")
    body, _ = exporter.from_notebook_node(nbformat.read(nb_path, as_version=4))
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
        return text

    body = "".join("<tr>" + "".join(f"<td>{cell(r, c)}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
