"""End to end (issue 11): hostile app names in a custom panel, a NaN-producing selection and
arbitrary unicode app names go through full runs; nothing is written outside the version, every
published version verifies, and in Chromium every chart draws and the index's compare widget
works."""

from __future__ import annotations

import json
import math
import re
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.report.run import runner
from analysis.report.run.verify import verify_version

pytestmark = pytest.mark.slow
from tests.report.test_browser import browser  # noqa: E402, F401  (the headless Chromium fixture)

HOSTILE = ["a/../../../../outside/x", "../victim/figures/02_its-its-signal", "<!--<script>", "</script><b>x</b>"]
ANCHOR = "Anchor"
START, N_DAYS, WHEN = date(2020, 11, 1), 120, date(2021, 1, 8)


def hostile_panel(path: Path, names: list[str]) -> Path:
    """Daily ranks (us, ios) with a pre-period trend, weekly noise and a climb at the intervention."""
    rows = []
    for i, name in enumerate([*names, ANCHOR]):
        for d in range(N_DAYS):
            day = START + timedelta(days=d)
            base = 30 + 35 * i + 6 * math.sin(d * 0.9 + i) + (d % 7)
            rank = max(1, int(round(base * (0.45 if day >= WHEN and name != ANCHOR else 1.0))))
            rows.append((day, "ios", "us", "top_free_overall", f"id{i}", name, rank, 200))
    pl.DataFrame(rows, schema=["date", "store", "country", "chart", "app_id", "app_name", "rank", "chart_depth"],
                 orient="row").write_parquet(path)
    return path


def hostile_run(names: list[str], tmp: Path, root: Path):
    panel = hostile_panel(tmp / "panel.parquet", names)
    return runner.run("custom", {
        "panel_file": str(panel), "apps": json.dumps([*names, ANCHOR]), "countries": "us",
        "comparison_cutoff": WHEN.isoformat(), "pre_days": "60", "post_days": "30",
        "placebo_apps": json.dumps([ANCHOR]), "focus_app": names[0],
        "focus_country": "us", "coverage_replicates": "100",
    }, root=root)


def files_under(d: Path) -> set[Path]:
    return {p for p in d.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def hostile(root):
    reports = root / "reports"
    victim = reports / "custom" / "victim"
    (victim / "figures").mkdir(parents=True)
    (victim / "figures" / "02_its-its-signal.svg").write_text("<svg>published</svg>")
    before = files_under(root)
    out = hostile_run(HOSTILE, root, reports)
    return out, before


@pytest.fixture(scope="module")
def nan_run(root, hostile):
    out = runner.run("demo", {"apps": "Telegram", "countries": "us"}, root=root / "reports")
    assert out.status == "complete", out.message
    return out


def test_hostile_app_names_write_only_inside_their_version(hostile, root):
    out, before = hostile
    assert out.status == "complete", out.message
    new = files_under(root) - before
    store = root / "reports" / "custom" / ".inputs"  # inputs stored once, gzipped, named by SHA-256 only
    assert all(re.fullmatch(r"[0-9a-f]{64}\.gz", p.name) for p in new if p.is_relative_to(store))
    allowed = (out.path, root / "reports" / "custom" / ".locks", store)
    stray = [p for p in new if not any(p.is_relative_to(a) for a in allowed)
             and p.name not in ("index.html", ".index.lock", "panel.parquet")]
    assert stray == [] and (root / "outside").exists() is False
    assert (root / "reports" / "custom" / "victim" / "figures" / "02_its-its-signal.svg").read_text() == "<svg>published</svg>"
    figures = sorted(p.name for p in (out.path / "figures").glob("02_its-its-*.vl.json.gz"))
    print(figures)
    assert len(figures) == len(HOSTILE) + 1 and all(".." not in f and "<" not in f for f in figures)
    assert verify_version(out.path).ok


def _draw_all(page_browser, path: Path) -> tuple[int, list[str], list, list]:
    from tests.report.test_browser import open_page

    page, errors, external = open_page(page_browser, path)
    n = page.locator("div.exodus-chart").count()
    page.wait_for_function(f"document.body.dataset.chartsRendered === '{n}'", timeout=120_000)
    states = page.eval_on_selector_all("div.exodus-chart", "els => els.map(e => e.dataset.rendered)")
    xss = page.evaluate("window.__xss")
    text = page.inner_text("body")
    page.close()
    return n, states, errors + external, [xss, text]


@pytest.mark.browser
def test_every_chart_draws_with_hostile_names_and_nan_data(browser, hostile, nan_run):  # noqa: F811
    out, _ = hostile
    for label, report in (("hostile app names", out.path), ("NaN-producing selection", nan_run.path)):
        n, states, problems, (xss, text) = _draw_all(browser, report / "index.html")
        drawn = states.count("true")
        print(f"{label}: {drawn} of {n} charts drawn")
        assert n >= 5 and states == ["true"] * n and problems == [] and xss is None, (states, problems)
        if report == out.path:
            assert "<!--<script>" in text and "</script><b>x</b>" in text and "Files" in text
    from analysis.report.run.storage import read_spec

    spec = read_spec(nan_run.path / "figures" / "04_robustness-coverage-truth.vl.json")  # finds the .gz
    assert spec["usermeta"]["exodus_nonfinite"]


@pytest.mark.browser
def test_index_compare_widget_works_with_hostile_versions(browser, hostile, nan_run, root):  # noqa: F811
    from tests.report.test_browser import open_page

    page, errors, external = open_page(browser, root / "reports" / "index.html")
    rows = page.locator("#versions table").inner_text()
    assert "verified" in rows and "broken" not in rows
    diff = page.inner_text("#diff")
    print(diff.splitlines()[:3])
    assert "Parameters:" in diff and "difference(s)" in diff and "Inputs (SHA-256):" in diff
    assert errors == [] and external == []
    page.close()


NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=24).filter(
    lambda s: s.strip() == s and s != ANCHOR and "," not in s)


@given(name=NAMES)
@settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_arbitrary_unicode_app_names_run_end_to_end_inside_their_version(name, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("uni")
    reports = tmp / "reports"
    out = hostile_run([name], tmp, reports)
    assert out.status == "complete", (name, out.message)
    store = reports / "custom" / ".inputs"  # inputs stored once, gzipped, named by SHA-256 only
    stray = [p for p in files_under(tmp) if not p.is_relative_to(out.path)
             and p.parent not in (reports, reports / "custom" / ".locks")
             and not (p.parent == store and re.fullmatch(r"[0-9a-f]{64}\.gz", p.name)) and p.name != "panel.parquet"]
    assert stray == [], (name, stray)
    assert verify_version(out.path).ok


def test_two_identical_concurrent_processes_publish_one_version(tmp_path):
    """Two `exodus run` processes with the same inputs: the second waits on the version-hash
    lock, then answers "identical" with the first's version."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "EXODUS_REPORTS_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "analysis", "run", "-p", "apps=Discord", "-p", "countries=us",
           "-p", "coverage_replicates=100"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    versions = [p for p in (tmp_path / "demo").iterdir() if p.name.startswith("demo-")]
    assert len(versions) == 1
    messages = [o[1].strip().splitlines()[-1] for o in outs]
    print(messages)
    assert sum("identical to existing version" in m for m in messages) == 1
    assert {o[0].strip() for o in outs} == {str(versions[0] / "index.html")}
