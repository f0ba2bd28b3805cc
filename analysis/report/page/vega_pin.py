"""The Vega bundle inlined in report pages, pinned by SHA-256, and the page check of ``exodus verify``.

Report pages inline Vega, Vega-Lite and vega-embed as one JavaScript module built by vl-convert
(:func:`analysis.report.page.display.vega_bundle`) and cached under ``EXODUS_CACHE_DIR/vega/``.  The
cache is a writable directory, so its copy is never trusted: the bundle must have the SHA-256
pinned here for the installed vl-convert and Vega-Lite versions (:data:`PINNED`).  vl-convert
builds it deterministically (same bytes on every build; ``tests/report/test_vega_pin.py``
checks the pin against a fresh build), so a mismatching cached copy is refused and rebuilt, and a
build that does not match its pin (another vl-convert, an edited loader snippet) stops the page
with :class:`BundleMismatch` instead of inlining unknown code.

:func:`page_problems` is the page check of ``exodus verify``: a page that draws charts must carry
exactly one pinned bundle (code prepended to it, or a truncated bundle, draws nothing or runs in
the reader's browser), and every chart placeholder must hold a Vega-Lite spec that parses (stored packed:
:func:`pack_spec`).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import re

from analysis.errors import ExodusError

# "vl-convert version|Vega-Lite version" -> SHA-256 of javascript_bundle(display._SNIPPET, vl_version)
PINNED: dict[str, str] = {
    "1.9.0|6.4": "21baef8fe6f1d846e68e0af35d082f0809220dd30c49dda9c1ec84d8417817c1",  # loader unpacks gzipped specs
}
# Bundles pinned before (an earlier loader snippet): never inlined again, still accepted in the
# pages of versions published with them, so an upgrade does not turn intact versions "tampered".
RETIRED: frozenset[str] = frozenset({
    "c920d48b01157473d05330a6569eab1b4ba70875d30375b464c60fa4918dd722",  # 1.9.0|6.4, specs as plain JSON
})

_OPEN = "<script type='module'>"
_MODULE = re.compile(r"<script type='module'>(.*?)</script></body></html>\s*\Z", re.S)
_SPEC = re.compile(r'<script type="application/(json|gzip)" class="exodus-spec(?:-gz)?">(.*?)</script>', re.S)
_CHART = re.compile(r'<div class="exodus-chart"')


class BundleMismatch(ExodusError):
    """The Vega bundle does not have its pinned SHA-256 (exit 1: the environment, not the input)."""

    exit_code = 1


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pinned_sha(vlc_version: str, vl_version: str) -> str:
    """The pinned SHA-256 for these versions; BundleMismatch when there is none."""
    key = f"{vlc_version}|{vl_version}"
    if key not in PINNED:
        raise BundleMismatch(f"no pinned SHA-256 for the Vega bundle of vl-convert {vlc_version} / Vega-Lite "
                             f"{vl_version} (analysis/report/page/vega_pin.py PINNED knows {sorted(PINNED)}): pin the "
                             "bundle of the new version before report pages inline it")
    return PINNED[key]


def check_built(bundle: str, want: str, vlc_version: str) -> str:
    """``bundle`` if it has the pinned hash ``want``; else BundleMismatch naming both hashes."""
    got = sha256_text(bundle)
    if got != want:
        raise BundleMismatch(f"the Vega bundle built by vl-convert {vlc_version} has SHA-256 {got}, but "
                             f"{want} is pinned (analysis/report/page/vega_pin.py); not inlined in any page")
    return bundle


def pack_spec(text: str) -> str:
    """A spec's JSON text as the page stores it: gzip (level 9, mtime 0) in base64, about a
    tenth of the JSON (the data rows repeat their keys and strings); the page's loader unpacks it
    with the browser's own ``DecompressionStream``, offline."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def unpack_spec(packed: str) -> str:
    """The JSON text :func:`pack_spec` packed (ValueError when it is not base64 gzip)."""
    try:
        return gzip.decompress(base64.b64decode(packed.strip(), validate=True)).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError(f"not a packed spec ({exc})") from None


def page_problems(text: str, rel: str) -> list[str]:
    """Why the charts of one HTML page cannot draw: a missing, unpinned or repeated bundle, or
    a chart placeholder whose spec is not a parseable Vega-Lite spec.  Empty when all can."""
    charts = len(_CHART.findall(text))
    if not charts:
        return []
    problems = []
    module = _MODULE.search(text)
    if module is None:
        problems.append(f"{rel}: {charts} chart(s) but no inlined Vega bundle: none can draw")
    else:
        got = sha256_text(module.group(1))
        if got not in {*PINNED.values(), *RETIRED}:
            problems.append(f"{rel}: the inlined Vega bundle has SHA-256 {got[:16]}..., not a pinned bundle "
                            f"(edited or truncated): its {charts} chart(s) cannot be trusted to draw")
        if (n := text.count(_OPEN)) != 1:
            problems.append(f"{rel}: {n} module scripts; a report page inlines exactly one (the pinned Vega bundle)")
    specs = _SPEC.findall(text)
    if len(specs) != charts:
        problems.append(f"{rel}: {charts} chart placeholder(s) but {len(specs)} spec(s)")
    for i, (kind, raw) in enumerate(specs, start=1):
        try:
            spec = json.loads(unpack_spec(raw) if kind == "gzip" else raw)
        except json.JSONDecodeError as exc:
            problems.append(f"{rel}: chart {i} of {charts}: its spec is not JSON ({exc.msg}); it cannot draw")
            continue
        except ValueError as exc:
            problems.append(f"{rel}: chart {i} of {charts}: its packed spec cannot be unpacked ({exc}); it cannot draw")
            continue
        if not isinstance(spec, dict) or "vega-lite" not in str(spec.get("$schema", "")):
            problems.append(f"{rel}: chart {i} of {charts}: not a Vega-Lite spec (no vega-lite $schema)")
    return problems
