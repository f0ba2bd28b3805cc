"""The pre-flight: file parameters, bad values, data defaults that adapt, relative paths, side files (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis import cli
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


def _run(tmp_path, monkeypatch, capsys, *extra: str, panel: str = GOOD) -> tuple[int, str, Path]:
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    path = tmp_path / "panel.csv"
    path.write_text(panel)
    code = cli.main(["run", "--study", "custom", "-p", f"panel_file={path}", *CUSTOM, *extra])
    return code, capsys.readouterr().err.strip(), reports


def _assert_refused(code: int, message: str, reports: Path, phrases: list[str]) -> None:
    assert code == 2, message
    assert message.startswith("exodus: error: ") and "\n" not in message
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert not list(reports.rglob("manifest.json")) and not list(reports.rglob(".build-*"))


@pytest.mark.parametrize("param", ["reported_ranks_file", "bigtech_events_file", "events_file"])
@pytest.mark.parametrize("defect", ["missing", "directory"])
def test_file_parameters_must_be_existing_files(param, defect, tmp_path, monkeypatch, capsys):
    target = tmp_path / "given"
    if defect == "directory":
        target.mkdir()
    code, message, reports = _run(tmp_path, monkeypatch, capsys, "-p", f"{param}={target}")
    phrase = "not found" if defect == "missing" else "is a directory"
    _assert_refused(code, message, reports, [param, str(target), phrase])


@pytest.mark.parametrize(
    ("extra", "phrases"),
    [
        (["-p", "seed=-1"], ["seed must be an integer from 0 to 2**32-1", "-1"]),
        (["-p", "focus_app=AppB", "-p", "apps=AppA"], ["focus_app 'AppB' is not in the selection", "apps=['AppA']"]),
        (["-p", "focus_country=gb"], ["focus_country 'gb' is not in the selection", "countries=['us']"]),
        (["-p", "downloads_exponent=1,inf"], ["downloads_exponent must be two finite numbers", "inf"]),
        (["-p", "placebo_apps=Discord,Twitter"], ["placebo_apps ['Discord', 'Twitter'] not in the data",
                                                   "available: ['AppA', 'AppB']"]),
        (["-p", "default_depth=12"], ["panel.csv", "column 'rank'", "row 8", "deeper than default_depth=12", "(found 13)"]),
    ],
)
def test_bad_values_are_refused_before_anything_runs(extra, phrases, tmp_path, monkeypatch, capsys):
    code, message, reports = _run(tmp_path, monkeypatch, capsys, *extra)
    _assert_refused(code, message, reports, phrases)


def test_data_defaults_adapt_to_a_custom_panel(tmp_path):
    """The default placebo apps (absent here) and focus app/country adapt, with notes."""
    from analysis.report.run.preflight import preflight

    path = tmp_path / "panel.csv"
    path.write_text(GOOD)
    checked = preflight("custom", {"panel_file": str(path), "comparison_cutoff": "2021-01-25", "pre_days": "20",
                                   "post_days": "10", "apps": "AppB,AppA", "countries": "us"})
    p = checked.params
    assert p.placebo_apps == [] and p.focus_app == "AppB" and p.focus_country == "us"
    assert any("placebo_apps" in n for n in checked.notes) and any("focus_app" in n for n in checked.notes)


def test_panel_without_chart_depth_takes_the_default_depth(tmp_path):
    from analysis.data.censoring import chart_days
    from analysis.data.studies.registry import load_study

    path = tmp_path / "panel.csv"
    path.write_text(GOOD)
    data = load_study("custom", panel_file=str(path), default_depth=50)
    assert data.chart_depth == 50 and data.panel["chart_depth"].unique().to_list() == [50]
    assert chart_days(data.panel)["chart_depth"].unique().to_list() == [50]  # what notebook 01 needs


def test_relative_paths_resolve_against_the_callers_directory(tmp_path, monkeypatch):
    """What is hashed is what is analysed: a relative panel_file is the caller's file, made
    absolute for the notebooks, even when the project root holds a file of the same name."""
    from analysis.config import ROOT
    from analysis.data.studies.base import sha256
    from analysis.report.run.preflight import preflight

    caller = tmp_path / "elsewhere"
    caller.mkdir()
    (caller / "panel.csv").write_text(GOOD)
    decoy = ROOT / "panel.csv"
    assert not decoy.exists()
    decoy.write_text(GOOD.replace("AppA,1\n", "AppA,2\n"))
    try:
        monkeypatch.chdir(caller)
        checked = preflight("custom", {"panel_file": "panel.csv", "comparison_cutoff": "2021-01-25",
                                       "pre_days": "20", "post_days": "10", "apps": "AppA", "countries": "us"})
    finally:
        decoy.unlink()
    assert checked.params.panel_file == str(caller / "panel.csv")
    assert sha256(checked.data.inputs["panel-panel.csv"]) == sha256((caller / "panel.csv").read_bytes())


def test_side_files_are_hashed_inputs(tmp_path, shared_data):
    from analysis.report.run.preflight import preflight

    reported = shared_data / "reported_app_metrics" / "reported_ranks.csv"
    if not reported.exists():
        pytest.skip("reported ranks not available")
    checked = preflight("demo", {"reported_ranks_file": str(reported)})
    assert checked.data.inputs["reported-reported_ranks.csv"] == reported.read_bytes()


@pytest.mark.slow
def test_custom_panel_with_default_placebos_and_no_chart_depth_runs(tmp_path, monkeypatch, capsys):
    """README step 5 as written: a custom panel without chart_depth, default placebo apps."""
    code, message, reports = _run(tmp_path, monkeypatch, capsys)
    assert code == 0, message
    assert "note: placebo_apps" in message
    (manifest,) = reports.rglob("manifest.json")

    m = json.loads(manifest.read_text())
    assert m["status"] == "complete" and m["parameters"]["placebo_apps"] == []
    assert m["parameters"]["panel_file"] == str(tmp_path / "panel.csv")


@pytest.mark.slow
def test_non_estimable_selection_completes_and_says_not_identified(tmp_path, monkeypatch, capsys):
    """Signal in the US is below the chart before January: nothing is estimable, the run
    completes and the summary says why."""
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    code = cli.main(["run", "-p", "apps=Signal", "-p", "countries=us"])
    err = capsys.readouterr().err
    assert code == 0, err
    (manifest,) = tmp_path.rglob("manifest.json")
    page = (manifest.parent / "index.html").read_text()
    assert "not identified" in page.lower() and "pre-period" in page
