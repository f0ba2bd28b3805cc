"""Open the report in headless Chromium with networking disabled: every chart draws its marks,
no request leaves the page, the console shows no errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis import runner

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # any network request fails
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("EXODUS_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required here (EXODUS_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS, offline=True
        )
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = runner.run("demo", {}, root=tmp_path_factory.mktemp("reports"))
    assert out.status == "complete", out.message
    return out.path


def open_page(browser, path: Path):
    page = browser.new_page()
    errors, external = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.goto(path.as_uri())
    return page, errors, external


@pytest.mark.parametrize("name", ["01_data_overview.html", "02_its.html", "03_summary.html", "04_robustness.html"])
def test_every_chart_draws_its_marks_offline(browser, report, name):
    page, errors, external = open_page(browser, report / name)
    n = page.locator("div.exodus-chart").count()
    assert n >= 1
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=60_000)
    states = page.eval_on_selector_all("div.exodus-chart", "els => els.map(e => e.dataset.rendered)")
    assert states == ["true"] * n
    marks = page.eval_on_selector_all(
        "div.exodus-chart svg.marks",
        "svgs => svgs.map(s => s.querySelectorAll('g.mark-line path, g.mark-symbol path, g.mark-rect path, g.mark-area path, g.mark-rule line').length)",
    )
    assert len(marks) == n and all(m > 0 for m in marks), marks
    assert errors == [], errors
    assert external == [], external
    # Code is hidden by default and can be shown.
    assert page.locator("div.input").first.is_hidden()
    page.click("button.toggle-code")
    assert page.locator("div.input").first.is_visible()
    page.close()


def test_landing_page_shows_provenance_without_errors(browser, report):
    page, errors, external = open_page(browser, report / "index.html")
    text = page.inner_text("body")
    assert "SYNTHETIC DEMO DATA" in text and "Parameters" in text and "sha256" in text.lower()
    assert errors == [] and external == []
    page.close()
