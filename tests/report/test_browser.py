"""Open the report in headless Chromium with networking disabled: every chart draws its marks,
no request leaves the page, the console shows no errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis.report.run import runner

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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


def test_every_chart_draws_its_marks_offline(browser, report):
    page, errors, external = open_page(browser, report / "index.html")
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


def test_report_shows_parameters_and_provenance(browser, report):
    page, errors, external = open_page(browser, report / "index.html")
    text = page.inner_text("body")
    assert "SYNTHETIC DEMO DATA" in text
    for heading in ("Parameters", "Provenance", "Code and environment", "Input files"):
        assert heading in text
    assert "sha256" in text.lower() and "comparison_cutoff" in text
    assert errors == [] and external == []
    page.close()


def test_index_compares_two_versions(browser, report):
    other = runner.run("demo", {"post_days": "20"}, root=report.parent.parent)
    assert other.status == "complete"
    page, errors, external = open_page(browser, report.parent.parent / "index.html")
    assert page.locator("#versions table").inner_text().count("demo-") == 2
    diff = page.inner_text("#diff")
    assert "Parameters: 1 difference(s)" in diff and "post_days" in diff
    assert "Inputs (SHA-256): identical" in diff and "Estimates" in diff
    assert errors == [] and external == []
    page.close()


def test_html_in_data_is_shown_as_text_not_executed(browser, tmp_path, shared_data):
    """An event title holding markup (from a data file) is escaped everywhere on the page.

    The same run overlays the press-reported ranks and adds the BigTech.fail timeline to the
    confounder table, so those optional inputs are exercised end to end too."""
    from analysis.config import EVENTS_FILE

    payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    lines = EVENTS_FILE.read_text().splitlines()
    lines[2] = lines[2].replace("Attack on the US Capitol", payload.replace('"', '""').join('""'))
    events = tmp_path / "events.csv"
    events.write_text("\n".join(lines) + "\n")
    reported = shared_data / "reported_app_metrics" / "reported_ranks.csv"
    bigtech = shared_data / "bigtech_fail_events" / "bigtech_fail_events.csv"
    out = runner.run("demo", {"events_file": str(events), "reported_ranks_file": str(reported),
                              "bigtech_events_file": str(bigtech)}, root=tmp_path / "reports")
    assert out.status == "complete", out.message
    page, errors, external = open_page(browser, out.path / "index.html")
    n = page.locator("div.exodus-chart").count()
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=60_000)
    assert page.evaluate("window.__xss") is None
    text = page.inner_text("body")
    assert payload in text
    assert "Twitter Bans President Trump" in text  # a BigTech.fail event near 8 Jan
    assert "Ranks reported in the press versus the panel" in text
    assert errors == [] and external == []
    page.close()


# Finds the rendered chart whose title contains TITLE and returns, from its Vega scenegraph, the
# x of every item of MARKTYPE whose stroke/fill is COLOR (local to its facet cell), with the datum.
_ITEMS_JS = """([title, marktype]) => {
  const out = [];
  for (const node of document.querySelectorAll('div.exodus-chart')) {
    const spec = node.exodusSpec || {};  // the loader keeps the spec it unpacked
    const t = typeof spec.title === 'string' ? spec.title : (spec.title || {}).text || '';
    if (!String(t).includes(title) || !node.exodusView) continue;
    const view = node.exodusView;
    const mine = [];
    const walk = (mark) => {
      for (const it of mark.items || []) {
        if (mark.marktype === marktype) mine.push({x: it.x, x2: it.x2 !== undefined ? it.x2 : it.x + it.width, width: it.width, stroke: it.stroke || null,
                                                   fill: it.fill || null, datum: it.datum || null});
        if (mark.marktype === 'group') for (const m of it.items || []) walk(m);
      }
    };
    walk(view.scenegraph().root);
    const scale = view.scale('x');
    for (const o of mine) {
      out.push(o);
      o.title = t;
      if (o.datum && o.datum.week !== undefined) {  // parsed by Vega: a timestamp
        o.expected_x = scale(o.datum.week);
        o.expected_x2 = scale(o.datum.week_end);
        o.datum = {...o.datum, week: new Date(o.datum.week).toISOString().slice(0, 10),
                   week_end: new Date(o.datum.week_end).toISOString().slice(0, 10)};
      }
    }
    out.push({title: t, scaleIntervention: scale(new Date(Date.UTC(2021, 0, 8))), marker: true});
  }
  return out;
}"""


def test_intervention_rule_sits_on_the_intervention_date(browser, report):
    """Placement, not presence: in every observed-vs-counterfactual chart the red rule's x pixel
    is the x scale's position of the intervention date (8 Jan 2021), inside the plot."""
    page, errors, _ = open_page(browser, report / "index.html")
    n = page.locator("div.exodus-chart").count()
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=60_000)
    items = page.evaluate(_ITEMS_JS, ["observed vs counterfactual", "rule"])
    markers = [i for i in items if i.get("marker")]
    rules = [i for i in items if not i.get("marker") and i["stroke"] == "#d62728"]
    assert markers and len(rules) >= len(markers), (len(markers), len(rules))
    by_title = {m["title"]: m["scaleIntervention"] for m in markers}
    for r in rules:
        expected = by_title[r["title"]]
        assert expected > 20, expected  # 8 Jan is well inside the window, not at the left edge
        assert abs(r["x"] - expected) < 0.5, (r["title"], r["x"], expected)
    assert errors == []
    page.close()


def test_coverage_heatmap_shows_signal_not_charted_before_7_january(browser, report):
    """The heatmap cell of every week before Signal's first US rank (7 Jan) is "not charted",
    and every cell spans its week on the x axis."""
    page, errors, _ = open_page(browser, report / "index.html")
    n = page.locator("div.exodus-chart").count()
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=60_000)
    cells = [i for i in page.evaluate(_ITEMS_JS, ["Chart coverage", "rect"]) if i.get("datum") and "week" in i["datum"]]
    assert cells
    for c in cells:
        assert abs(c["x"] - c["expected_x"]) < 0.5 and abs(c["x2"] - c["expected_x2"]) < 0.5, c
    signal_us = [c["datum"] for c in cells if c["datum"]["app_name"] == "Signal" and c["datum"]["country"] == "US"]
    before = [d for d in signal_us if d["week_end"] <= "2021-01-04"]
    assert len(before) >= 10
    assert all(d["status"] == "not charted" and d["share"] == 0 for d in before), before
    assert any(d["status"] == "charted" for d in signal_us if d["week"] >= "2021-01-04")
    assert errors == []
    page.close()


def test_pages_open_with_the_headline_and_never_scroll_sideways_at_1280px(browser, report):
    """The report page and the versions index open with the abstract and the headline table, and
    at a 1280 px wide window neither scrolls horizontally (wide tables and charts scroll inside
    their own box)."""
    for path in (report / "index.html", report.parent.parent / "index.html"):
        page, errors, _ = open_page(browser, path)
        page.set_viewport_size({"width": 1280, "height": 900})
        n = page.locator("div.exodus-chart").count()
        if n:
            page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=120_000)
        width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert inner == 1280 and width <= inner, (path, width)
        answer = page.locator("#answer")
        assert answer.locator("p.abstract").first.inner_text().startswith("Did people turn to Signal")
        head = answer.locator("table.exodus-headline").first
        assert head.locator("th").all_inner_texts()[2:5] == ["Deplatforming", "Privacy shock", "All events"]
        assert head.locator("tbody tr").count() >= 6
        assert errors == [], errors
        page.close()


_RULES_JS = """(title) => {
  const out = [];
  for (const node of document.querySelectorAll('div.exodus-chart')) {
    const spec = node.exodusSpec || {};  // the loader keeps the spec it unpacked
    const t = typeof spec.title === 'string' ? spec.title : (spec.title || {}).text || '';
    if (!String(t).includes(title) || !node.exodusView) continue;
    const view = node.exodusView, scale = view.scale('x');
    const walk = (mark) => {
      for (const it of mark.items || []) {
        if (mark.marktype === 'rule' && it.stroke === '#d62728' && it.datum && it.datum.term)
          out.push({title: t, x: it.x, expected: scale(new Date(it.datum.date)), term: it.datum.term,
                    date: new Date(it.datum.date).toISOString().slice(0, 10)});
        if (mark.marktype === 'group') for (const m of it.items || []) walk(m);
      }
    };
    walk(view.scenegraph().root);
  }
  return out;
}"""


def test_model_figure_rules_sit_at_the_term_dates(browser, report):
    """Placement: in every figure of the answer's own model, each red rule's x pixel is the x
    scale's position of its term's first affected snapshot (the design table of notebook 02)."""
    import polars as pl

    terms = pl.read_csv(next(report.glob("tables/02_its-design.csv")))
    want = dict(zip(terms["term_id"], terms["first_snapshot"], strict=True))
    page, errors, _ = open_page(browser, report / "index.html")
    n = page.locator("div.exodus-chart").count()
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=60_000)
    rules = page.evaluate(_RULES_JS, "the answer's per-event model")
    titles = {r["title"] for r in rules}
    assert len(titles) >= 4, titles  # Signal, Telegram, Parler, MeWe, Rumble, WhatsApp in the default demo
    for r in rules:
        assert r["date"] == want[r["term"]], r
        assert r["expected"] > 20 and abs(r["x"] - r["expected"]) < 0.5, r
    assert errors == []
    page.close()
