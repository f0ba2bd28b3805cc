"""Offline chart rendering for executed reports.

Inside ``exodus run`` (environment variable ``EXODUS_RUN=1``) altair charts are rendered as
a placeholder ``<div>`` holding the Vega-Lite spec as gzipped JSON in base64 (:func:`pack_spec`).  The report page inlines the Vega
libraries *once* (see :func:`vega_bundle`) and a single script draws every placeholder, so the
HTML works with no network and does not repeat a megabyte of JavaScript per chart.
Interactive use (JupyterLab) keeps altair's default renderer.
"""

from __future__ import annotations

import hashlib
from functools import cache

import altair as alt

from analysis.config import in_report_run
from analysis.figures.common import VL_VERSION
from analysis.report.page.vega_pin import pack_spec

RENDERER = "exodus_offline"

# Draws each placeholder with vega-embed; failures are shown in the page and the console.
_SNIPPET = """
window.vegaEmbed = vegaEmbed;
async function exodusSpec(node) {
  const packed = node.querySelector('script.exodus-spec-gz');
  if (!packed) return JSON.parse(node.querySelector('script.exodus-spec').textContent);
  const bytes = Uint8Array.from(atob(packed.textContent.trim()), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return JSON.parse(await new Response(stream).text());
}
function exodusRenderAll() {
  const nodes = document.querySelectorAll('div.exodus-chart');
  const jobs = [];
  for (const node of nodes) {
    const target = node.querySelector('div.exodus-target');
    const fail = (err) => { node.dataset.rendered = 'error'; target.textContent = 'Chart failed: ' + err; console.error(err); };
    jobs.push(exodusSpec(node).then((s) => { node.exodusSpec = s; return vegaEmbed(target, s, {renderer: 'svg', actions: {export: true, source: false, compiled: false, editor: false}}); })
      .then((result) => { node.exodusView = result.view; node.dataset.rendered = 'true'; })
      .catch(fail));
  }
  Promise.all(jobs).then(() => { document.body.dataset.chartsRendered = String(nodes.length); });
}
exodusRenderAll();
"""


def spec_html(spec: dict) -> str:
    """Placeholder for one chart: strict JSON (NaN -> null, noted) with ``<``, ``>``, ``&``,
    U+2028 and U+2029 escaped, packed with :func:`pack_spec` (base64 cannot close or comment out
    the script element either)."""
    from analysis.figures.safejson import script_json, strict_spec

    text = script_json(strict_spec(spec), sort_keys=True, separators=(",", ":"))
    chart_id = "chart-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return (
        f'<div class="exodus-chart" id="{chart_id}"><div class="exodus-target"></div>'
        f'<script type="application/gzip" class="exodus-spec-gz">{pack_spec(text)}</script></div>'
    )


def _offline_renderer(spec: dict, **metadata) -> dict:
    return {"text/html": spec_html(spec), "text/plain": "<altair chart>"}


alt.renderers.register(RENDERER, _offline_renderer)


def setup() -> str:
    """Enable the offline renderer inside report runs; return the active renderer's name."""
    if in_report_run():
        alt.renderers.enable(RENDERER)
    alt.data_transformers.disable_max_rows()
    return alt.renderers.active


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one offline JavaScript module (from vl-convert), with
    the SHA-256 pinned in :mod:`analysis.report.page.vega_pin`.

    Building it takes vl-convert over a second, and it depends only on the vl-convert version
    and :data:`VL_VERSION`, so it is kept under the cache directory (``EXODUS_CACHE_DIR``) keyed
    by both and by the SHA-256 of the loader snippet; an unwritable cache only costs the time.
    A cached copy whose SHA-256 is not the pinned one is refused (never inlined, said on stderr)
    and replaced by a fresh build; a fresh build that does not match its pin raises
    :class:`analysis.report.page.vega_pin.BundleMismatch`."""
    import hashlib
    import os
    import sys
    import uuid

    import vl_convert as vlc

    from analysis.config import cache_dir
    from analysis.report.page.vega_pin import check_built, pinned_sha, sha256_text

    want = pinned_sha(vlc.__version__, VL_VERSION)
    key = hashlib.sha256(f"{vlc.__version__}|{VL_VERSION}|{_SNIPPET}".encode()).hexdigest()[:16]
    path = cache_dir() / "vega" / f"bundle-{key}.js"
    try:
        cached = None if path.is_symlink() else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        cached = None
    if cached is not None and sha256_text(cached) == want:
        return cached
    if cached is not None:
        print(f"exodus: refused the cached Vega bundle {path}: SHA-256 {sha256_text(cached)} is not the pinned "
              f"{want}; rebuilt from vl-convert", file=sys.stderr)
    bundle = check_built(vlc.javascript_bundle(_SNIPPET, vl_version=VL_VERSION), want, vlc.__version__)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        tmp.write_text(bundle, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return bundle
