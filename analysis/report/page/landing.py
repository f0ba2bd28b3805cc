"""The reports landing page (``reports/index.html``): the answer of every study, then the versions.

It opens with **The answer, per study**: for each study (demo, jan2021, custom, wiki-top100,
wiki-views order), the newest complete, verified version that has an answer, labelled with the
study, its data kind (SYNTHETIC / REAL, from the manifest) and the parameters that differ from
the study's defaults, so a subset run or a real-data run never stands in for another study's
answer.  The answer is shown in the headline's terms (:mod:`analysis.report.page.compare`: multiples
in the direction of more use, bounds as "≥ ×k", per attribution group when the version has the
attribution table), then its paragraphs and truth coverage.

Then every version (with its data kind and changed parameters) and a comparison of any two,
by default the two newest of the same study (:func:`analysis.report.page.compare.default_pair`),
labelled by their changed parameters and compared in the same terms.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from analysis.data.studies.names import STUDY_NAMES
from analysis.figures.safejson import script_json
from analysis.report.answer.section import frame_html, paragraphs_html
from analysis.report.page import compare as C
from analysis.report.page.html import page, rows_table


def data_kind(manifest: dict) -> str:
    return "SYNTHETIC" if manifest.get("synthetic") else "REAL"


def study_answers(root: Path, found: Sequence[tuple[Path, dict | None, str]]) -> list[dict]:
    """Per study, the newest complete verified version with an answer (see the module docstring):
    ``study``, ``kind``, ``version``, ``href``, ``created_utc``, ``changed``, ``terms``,
    ``paragraphs``, ``notes``, ``figure``, ``coverage``."""
    best: dict[str, tuple[Path, dict]] = {}
    for d, m, mark in found:
        if not m or mark != "verified" or m.get("status") != "complete" or not m.get("answer"):
            continue
        study = str(m.get("study"))
        if study not in best or (m.get("created_utc") or "") > (best[study][1].get("created_utc") or ""):
            best[study] = (d, m)
    order = {s: i for i, s in enumerate(STUDY_NAMES)}
    out = []
    for study in sorted(best, key=lambda s: (order.get(s, len(order)), s)):
        d, m = best[study]
        rel = Path(d).relative_to(root).as_posix()
        fig = m["answer"].get("figure")
        out.append({"study": study, "kind": data_kind(m), "version": m.get("version"), "href": f"{rel}/index.html",
                    "created_utc": m.get("created_utc"), "changed": C.changed_parameters(m),
                    "terms": C.answer_terms(d, m), "paragraphs": m["answer"].get("paragraphs") or [],
                    "notes": m["answer"].get("notes") or [], "figure": f"{rel}/{fig}" if fig else None,
                    "coverage": m["answer"].get("coverage"), "dir": d})
    return out


def _terms_table(terms: Sequence[dict]) -> str:
    """Series x attribution group, each cell the group's multiple text."""
    if not terms:
        return "<p>No answer terms in this version.</p>"
    groups = [g for g in ("deplatforming", "privacy_shock", "other", "all_events") if any(t["group"] == g for t in terms)]
    groups += sorted({t["group"] for t in terms} - set(groups))
    series = list(dict.fromkeys(t["series"] for t in terms))
    cells = {(t["series"], t["group"]): t["text"] for t in terms}
    head = "".join(f"<th>{html.escape(C.GROUP_LABELS.get(g, g))}</th>" for g in groups)
    body = "".join("<tr><td>" + html.escape(s) + "</td>" + "".join(
        f"<td>{html.escape(cells.get((s, g), ''))}</td>" for g in groups) + "</tr>" for s in series)
    return ("<table class='answer-terms'><caption>Multiples in the direction of more use, 95% CI (\u00d71 = no "
            "change, below 1 = less use; \u2265 \u00d7k = a bound: at least k)</caption>"
            f"<thead><tr><th>series</th>{head}</tr></thead><tbody>{body}</tbody></table>")


def _headline(a: dict) -> str:
    """The version's abstract and headline table (:func:`analysis.report.answer.headline.index_html`),
    '' when it has no attribution table (older versions: the terms table stands in)."""
    from analysis.report.answer.headline import index_html

    return index_html(a["dir"]) if a.get("dir") is not None else ""


def study_block(a: dict) -> str:
    """One study's answer: heading with study and data kind, version and changed parameters,
    the terms table, the paragraphs (collapsed), the decomposition and the truth coverage."""
    kind = a["kind"]
    cls = "kind-synthetic" if kind == "SYNTHETIC" else "kind-real"
    img = (f"<p><img src='{html.escape(a['figure'])}' alt='Decomposition of the answer per app and country' "
           "style='max-width:100%'></p>" if a.get("figure") else "")
    cov = a.get("coverage")
    table = frame_html(pl.DataFrame(cov), "Truth coverage of the answer's intervals (non-zero truths)") if cov else ""
    return (f"<section class='study-answer' id='answer-{html.escape(a['study'])}'>"
            f"<h3>{html.escape(a['study'])} <span class='{cls}'>{kind} DATA</span></h3>"
            f"<p>Study <b>{html.escape(a['study'])}</b> ({kind} data), newest complete version "
            f"<a href='{html.escape(a['href'])}'>{html.escape(str(a['version']))}</a>; parameters that differ from "
            f"the study's defaults: {html.escape(C.changed_text(a['changed'], 12) if a['changed'] else 'none')}.</p>"
            + (_headline(a) or _terms_table(a["terms"]))
            + "<details><summary>The answer in sentences</summary>"
            + paragraphs_html(a["paragraphs"], a["notes"]) + "</details>" + img + table + "</section>")


def answers_section(answers: Sequence[dict]) -> str:
    if not answers:
        return "<section id='answer'><h2>The answer</h2><p>No complete version has an answer yet.</p></section>"
    return ("<section id='answer'><h2>The answer</h2><p>Per study, from its newest complete version. Studies on "
            "SYNTHETIC data (the demo) are simulations with known true effects, not observations.</p>"
            + "".join(study_block(a) for a in answers) + "</section>")


def enrich(rows: list[dict], root: Path, found: Sequence[tuple[Path, dict | None, str]]) -> list[dict]:
    """Add ``data`` (SYNTHETIC/REAL), ``changed`` (dict), ``changed_parameters`` (text),
    ``label`` (menu label) and ``estimates`` (answer terms) to the index rows."""
    by_href = {f"{Path(d).relative_to(root).as_posix()}/index.html": (d, m) for d, m, _ in found if m}
    out = []
    for r in rows:
        d, m = by_href.get(r["href"], (None, None))
        if m is None:
            extra = {"data": "", "changed": {}, "changed_parameters": "", "estimates": {}}
        else:
            changed = C.changed_parameters(m)
            extra = {"data": data_kind(m), "changed": changed, "changed_parameters": C.changed_text(changed),
                     "estimates": C.terms_map(C.answer_terms(d, m))}
        row = {**r, **extra}
        row["label"] = C.version_label(row)
        out.append(row)
    return out


CSS = (".kind-synthetic{background:#b00020;color:#fff;padding:.1em .4em;border-radius:3px;font-size:.8em}"
       ".kind-real{background:#1b4f9b;color:#fff;padding:.1em .4em;border-radius:3px;font-size:.8em}"
       "section.study-answer{border-top:1px solid #ddd;margin-top:1em}")

_DIFF_JS = """
const versions = JSON.parse(document.getElementById('versions-data').textContent);
const pair = JSON.parse(document.getElementById('pair-data').textContent);
const selA = document.getElementById('diff-a'), selB = document.getElementById('diff-b');
for (const [i, v] of versions.entries()) {
  for (const sel of [selA, selB]) { const o = document.createElement('option'); o.value = i; o.textContent = v.label; sel.appendChild(o); }
}
if (pair) { selA.value = pair[0]; selB.value = pair[1]; }
function cell(tr, text) { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); }
function table(title, a, b, fmt) {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const t = document.createElement('table'); const cap = document.createElement('caption'); t.appendChild(cap);
  let n = 0;
  const head = document.createElement('tr'); ['item', 'A', 'B'].forEach(h => { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); }); t.appendChild(head);
  for (const k of keys) {
    const va = JSON.stringify(a[k]), vb = JSON.stringify(b[k]);
    if (va === vb) continue;
    n += 1; const tr = document.createElement('tr'); cell(tr, k); cell(tr, fmt(a[k])); cell(tr, fmt(b[k])); t.appendChild(tr);
  }
  cap.textContent = title + ': ' + (n ? n + ' difference(s)' : 'identical');
  return t;
}
function showDiff() {
  const a = versions[selA.value], b = versions[selB.value], out = document.getElementById('diff');
  out.replaceChildren();
  if (!a || !b) return;
  const f = v => v === undefined ? '(absent)' : (typeof v === 'string' ? v : JSON.stringify(v));
  if (a.study !== b.study) { const p = document.createElement('p'); p.textContent = 'A and B are different studies (' + a.study + ', ' + b.study + '): their parameters differ by design.'; out.appendChild(p); }
  out.appendChild(table('Parameters', a.parameters, b.parameters, f));
  out.appendChild(table('Inputs (SHA-256)', a.inputs, b.inputs, f));
  out.appendChild(table('Estimates (the answer: multiples in the direction of more use, per attribution group; bounds as \\u2265 \\u00d7k)', a.estimates, b.estimates, f));
}
selA.addEventListener('change', showDiff); selB.addEventListener('change', showDiff); showDiff();
"""

COLUMNS = ["version", "study", "data", "created_utc", "changed_parameters", "commit", "status", "integrity", "headline"]


def landing_page(root: Path, rows: list[dict], found: Sequence[tuple[Path, dict | None, str]]) -> str:
    """The whole landing page (see the module docstring); ``rows`` are the index rows, newest first."""
    versions = enrich(rows, root, found)
    data = script_json(versions, sort_keys=True)
    pair = script_json(C.default_pair(versions))
    body = (
        f"<style>{CSS}</style><h1>Exodus report versions</h1>" + answers_section(study_answers(root, found))
        + "<h2>Versions</h2><p>Every run of <code>exodus run</code> is kept; a version is never "
        "overwritten. Failed runs are listed as failed. Integrity: every file of a version is checked against the "
        "SHA-256 its manifest records (<code>exodus verify</code>); a version whose manifest cannot be read is "
        "listed as broken. Changed parameters: those that differ from the study's defaults.</p>"
        + "<div id='versions'>" + rows_table(versions, COLUMNS, "Versions, newest first", links={"version": "href"})
        + "</div><h2>Compare two versions</h2><p>By default the two newest versions of the same study. "
        "A: <select id='diff-a'></select> B: <select id='diff-b'></select></p><div id='diff'></div>"
        f"<script type='application/json' id='versions-data'>{data}</script>"
        f"<script type='application/json' id='pair-data'>{pair}</script><script>{_DIFF_JS}</script>"
    )
    return page("Exodus report versions", body)
