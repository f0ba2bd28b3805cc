"""End to end: `exodus run` executes the notebooks and writes an immutable report version."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from analysis import cli
from analysis.report.run import kernel, runner
from analysis.report.run.storage import read_input, read_notebook, read_spec


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("reports")


@pytest.fixture(scope="module")
def environ_around_first_run(reports):
    import os

    before = dict(os.environ)
    outcome = runner.run("demo", {}, root=reports)
    return outcome, before, dict(os.environ)


@pytest.fixture(scope="module")
def first_run(environ_around_first_run):
    return environ_around_first_run[0]


@pytest.mark.slow
def test_run_leaves_the_callers_environment_alone_and_gives_the_kernel_its_own(environ_around_first_run):
    outcome, before, after = environ_around_first_run
    assert outcome.status == "complete" and after == before
    spec = json.loads((Path(kernel.sys.prefix) / "share" / "jupyter" / "kernels" / kernel.RUN_KERNEL_NAME
                       / "kernel.json").read_text())
    assert spec["env"] == dict(sorted(runner.RUN_ENV.items()))
    # the kernel saw it: with EXODUS_RUN=1 charts are rendered by the offline renderer (display.setup)
    nb = read_notebook(outcome.path / "notebooks" / "02_its.ipynb")  # stored as .ipynb.gz
    html_outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                    if "text/html" in o.get("data", {})]
    assert any("exodus-chart" in o["data"]["text/html"] for o in html_outputs)


@pytest.mark.slow
def test_run_writes_a_complete_version(first_run, reports):
    assert first_run.status == "complete", first_run.message
    v = first_run.path
    assert v.parent == reports / "demo" and v.name.startswith("demo-") and v.name == first_run.version
    for name in ("index.html", "manifest.json"):
        assert (v / name).is_file(), name
    for nb in kernel.NOTEBOOK_ORDER:
        assert (v / "notebooks" / f"{nb}.gz").is_file() and not (v / "notebooks" / nb).exists()
    figures = sorted((v / "figures").glob("*.vl.json.gz"))  # specs stored gzipped (storage.compress_files)
    assert len(figures) >= 5 and not list((v / "figures").glob("*.vl.json"))
    for f in figures:
        stem = f.name.removesuffix(".vl.json.gz")
        assert (v / "figures" / f"{stem}.svg").stat().st_size > 1000
        assert not (v / "figures" / f"{stem}.png").exists()  # PNGs on request only (export_pngs)
        assert read_spec(f)["title"]["text"].startswith("SYNTHETIC DEMO DATA")
    assert (v / "tables" / "02_its-effects.csv").is_file()


@pytest.mark.slow
def test_manifest_records_provenance(first_run):
    m = json.loads((first_run.path / "manifest.json").read_text())
    assert m["status"] == "complete" and m["synthetic"] is True
    assert set(m["git"]) == {"commit", "dirty"}
    assert m["environment"]["python"].startswith("3.11")
    assert {"polars", "altair", "statsmodels", "papermill"} <= set(m["environment"]["packages"])
    assert m["parameters"]["comparison_cutoff"] == "2021-01-08"
    names = {i["name"] for i in m["inputs"]}
    assert {"demo_panel.csv", "events_jan2021.csv"} <= names
    for i in m["inputs"]:
        assert len(i["sha256"]) == 64
        assert (first_run.path / "inputs" / f"{i['name']}.gz").is_file()  # stored gzipped, hashed raw
        assert runner.sha256(read_input(first_run.path, i["name"])) == i["sha256"]
    assert [n["status"] for n in m["notebooks"]] == ["complete"] * len(kernel.NOTEBOOK_ORDER)


@pytest.mark.slow
def test_executed_notebooks_have_no_errors_and_no_volatile_metadata(first_run):
    for nb_name in kernel.NOTEBOOK_ORDER:
        nb = read_notebook(first_run.path / "notebooks" / nb_name)
        assert "start_time" not in json.dumps(nb.metadata)
        for cell in nb.cells:
            assert cell.id.startswith("cell-")
            for out in cell.get("outputs", []):
                assert out.output_type != "error"


@pytest.mark.slow
def test_report_is_one_offline_page_under_5_mb(first_run):
    page = first_run.path / "index.html"
    text = page.read_text()
    assert "SYNTHETIC DEMO DATA" in text
    assert "<script src=" not in text and "<link" not in text and "cdn.jsdelivr" not in text
    assert text.count("window.vegaEmbed=") == 1  # Vega inlined once per page, not per chart
    for nb in kernel.NOTEBOOK_ORDER:
        assert f"id='nb-{nb.removesuffix('.ipynb')}'" in text
    assert page.stat().st_size < 5_000_000


@pytest.mark.slow
def test_every_chart_has_a_title_and_a_text_description(first_run):
    text = (first_run.path / "index.html").read_text()
    n_charts = len(re.findall(r"class=[\"']exodus-chart[\"']", text))
    assert n_charts >= 5
    assert len(re.findall(r"class=[\"']exodus-figdesc[\"']", text)) == n_charts
    for spec in (first_run.path / "figures").glob("*.vl.json.gz"):
        assert read_spec(spec)["title"]["text"]


@pytest.mark.slow
def test_rerun_reproduces_tables_and_figure_specs_byte_for_byte(first_run, reports):
    again = runner.run("demo", {}, root=reports, force=True)
    try:
        assert again.status == "complete" and again.path != first_run.path
        for kind, pattern in (("tables", "*.csv"), ("figures", "*.vl.json.gz"), ("figures", "*.svg"), ("notebooks", "*.ipynb.gz"),
                              ("inputs", "*.gz")):
            old = sorted((first_run.path / kind).glob(pattern))
            assert old
            for f in old:
                assert (again.path / kind / f.name).read_bytes() == f.read_bytes(), f.name
    finally:
        shutil.rmtree(again.path)
        runner.write_index(reports)


@pytest.mark.slow
def test_killed_build_is_never_listed_or_reused(first_run, reports):
    fake = reports / "demo" / ".build-killed"
    shutil.copytree(first_run.path, fake)  # a build killed after writing its manifest
    try:
        runner.write_index(reports)
        assert ".build-killed" not in (reports / "index.html").read_text()
        from analysis.report.run.publish import find_identical

        vhash = json.loads((fake / "manifest.json").read_text())["version_hash"]
        assert find_identical(reports / "demo", vhash) == (first_run.path, [])
    finally:
        shutil.rmtree(fake)


def test_publish_never_replaces_an_existing_version(tmp_path):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "old").write_text("old")
    build = tmp_path / ".build-1"
    build.mkdir()
    final = runner._publish(build, tmp_path / "v")
    assert final != tmp_path / "v" and final.name.startswith("v-")
    assert (tmp_path / "v" / "old").read_text() == "old"


@pytest.mark.slow
def test_identical_rerun_is_recognised_not_duplicated(first_run, reports):
    again = runner.run("demo", {}, root=reports)
    assert again.status == "identical" and again.path == first_run.path
    assert len([p for p in (reports / "demo").iterdir() if p.name.startswith("demo-")]) == 1


@pytest.mark.slow
def test_index_lists_versions(first_run, reports):
    index = (reports / "index.html").read_text()
    assert first_run.version in index and "complete" in index


@pytest.mark.slow
def test_failed_run_is_recorded_as_failed_and_exits_nonzero(first_run, reports, tmp_path, monkeypatch, capsys):
    nbdir = tmp_path / "notebooks"
    shutil.copytree(runner.NOTEBOOKS, nbdir)
    nb = nbformat.read(nbdir / "01_data_overview.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure')"))
    nbformat.write(nb, nbdir / "01_data_overview.ipynb")
    monkeypatch.setattr(kernel, "NOTEBOOKS", nbdir)  # the notebooks executed
    monkeypatch.setattr(runner, "NOTEBOOKS", nbdir)  # and fingerprinted
    before = sorted(p.name for p in (reports / "demo").iterdir())
    out = runner.run("demo", {}, root=reports)
    assert out.status == "failed" and out.exit_code == 1
    assert out.path.parent == reports / "demo" / "failed"
    m = json.loads((out.path / "manifest.json").read_text())
    assert m["status"] == "failed"
    assert m["failure"]["notebook"] == "01_data_overview.ipynb"
    assert m["failure"]["cell_index"] == 3 and "deliberate failure" in m["failure"]["error"]
    assert m["failure"]["cell_source"] == "raise RuntimeError('deliberate failure')"
    # Earlier versions are untouched and no build directory is left behind.
    after = sorted(p.name for p in (reports / "demo").iterdir())
    assert [a for a in after if a != "failed"] == [b for b in before if b != "failed"]
    assert not list((reports / "demo").glob(".build-*"))
    assert "failed" in (reports / "index.html").read_text()


def test_cli_bad_parameter_exits_2_before_running(reports, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    before = sorted(p.name for p in (reports / "demo").rglob("*"))
    assert cli.main(["run", "-p", "pre_dayz=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'pre_dayz'" in err and "pre_days (int)" in err
    assert sorted(p.name for p in (reports / "demo").rglob("*")) == before


def test_cli_params_lists_types_defaults_and_help(capsys):
    assert cli.main(["params"]) == 0
    out = capsys.readouterr().out
    assert "comparison_cutoff" in out and "list[str]" in out and "single-cutoff comparison model" in out


@pytest.mark.slow
def test_two_runs_at_once_do_not_clobber_each_other(tmp_path):
    """Two `exodus run` processes on one reports directory both publish complete versions and
    both appear in the index."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "EXODUS_REPORTS_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "analysis", "run", "-p", "apps=Telegram,Discord", "-p", "countries=us,de"]
    procs = [subprocess.Popen([*cmd, "-p", f"post_days={n}"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for n in (20, 25)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    versions = sorted(p for p in (tmp_path / "demo").iterdir() if p.name.startswith("demo-"))
    assert len(versions) == 2
    for v in versions:
        assert json.loads((v / "manifest.json").read_text())["status"] == "complete"
    index = (tmp_path / "index.html").read_text()
    assert all(v.name in index for v in versions)
    assert not list((tmp_path / "demo").glob(".build-*"))


@pytest.mark.slow
def test_every_figure_fits_in_1280_px_and_the_version_shares_its_inputs(first_run, reports, tmp_path):
    """Issue 21, item 8: every figure (SVG and PNG) at most 1,280 px wide; inputs hard-linked
    to the study's content-addressed store; notebooks stored compressed."""
    import struct

    from analysis.figures.decomposition import MAX_WIDTH

    v = first_run.path
    for svg in (v / "figures").glob("*.svg"):
        width = float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', svg.read_text()).group(1))
        assert width <= MAX_WIDTH, svg.name
    from analysis.report.page.outputs import export_pngs

    pngs = export_pngs(v, tmp_path / "png")
    assert len(pngs) == len(list((v / "figures").glob("*.svg"))) >= 5
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">I", png.read_bytes()[16:20])[0] <= MAX_WIDTH, png.name  # IHDR width
    for f in (v / "inputs").iterdir():  # inputs/<name>.gz -> .inputs/<sha256 of the raw bytes>.gz
        blob = reports / "demo" / ".inputs" / f"{runner.sha256(read_input(v, f.name.removesuffix('.gz')))}.gz"
        assert f.name.endswith(".gz") and blob.stat().st_ino == f.stat().st_ino, f.name


@pytest.mark.slow
def test_a_demo_version_takes_at_most_8_mb_and_every_figure_fits_in_1280_px(first_run):
    """Issue 21, item 8: one demo version, counted honestly (every regular file, hard-linked inputs
    included, each inode once), at most 8,000,000 bytes; every SVG at most 1,280 px wide; the page
    holds every chart once, packed, with the Vega bundle once."""
    from analysis.figures.decomposition import MAX_WIDTH

    v, seen, total = first_run.path, set(), 0
    for f in v.rglob("*"):
        st = f.lstat()
        if f.is_file() and not f.is_symlink() and (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    print(f"version {v.name}: {total:,} bytes in {len(seen)} files")
    assert total <= 8_000_000
    widths = {svg.name: float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', svg.read_text()).group(1))
              for svg in (v / "figures").glob("*.svg")}
    assert len(widths) >= 5 and max(widths.values()) <= MAX_WIDTH == 1280, widths
    page = (v / "index.html").read_text()
    assert page.count('class="exodus-spec-gz"') == page.count('class="exodus-chart"') >= len(widths)
    assert 'class="exodus-spec"' not in page


@pytest.mark.slow
def test_a_registry_edit_given_to_exodus_run_moves_the_published_answer(reports):
    """`-p event_shift=X10:+3` reaches every notebook: the answer table's X10 term moves, the
    window-average estimate does not (it compares with the pre-period forecast), and the
    parameter is recorded as changed."""
    import polars as pl

    from analysis.report.answer.table import read_answer

    sel = {"apps": "Telegram", "countries": "us,in"}
    runs = [runner.run("demo", {**sel, **extra}, root=reports) for extra in ({}, {"event_shift": "X10:+3"})]
    assert [r.status for r in runs] == ["complete", "complete"], [r.message for r in runs]
    base, moved = (read_answer(next((r.path / "tables").glob("*-answer.csv"))) for r in runs)
    key = (pl.col("app_name") == "Telegram") & (pl.col("country") == "us")
    x10 = [a.filter(key, pl.col("event_id") == "X10")["estimate"].item() for a in (base, moved)]
    assert abs(x10[0] - x10[1]) > 1e-3
    wa = [a.filter(key, pl.col("estimand") == "window_average")["estimate"].item() for a in (base, moved)]
    assert wa[0] == pytest.approx(wa[1], abs=1e-9)
    m = json.loads((runs[1].path / "manifest.json").read_text())
    assert m["parameters"]["event_shift"] == ["X10:+3"]
