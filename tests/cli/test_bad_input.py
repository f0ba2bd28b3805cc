"""The bad-input corpus: each case stops `exodus run` before any notebook runs, with exit code
2 and a one-paragraph message naming file, column and row where they apply; no report version
is written, complete or otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import cli
from analysis.config import EVENTS_FILE

HEADER = "date,store,country,chart,app_id,app_name,rank\n"


def panel_rows(n_days: int = 40) -> str:
    from datetime import date, timedelta

    rows = []
    for d in range(n_days):
        day = (date(2021, 1, 1) + timedelta(days=d)).isoformat()
        rows.append(f"{day},ios,us,top_free_overall,a,AppA,{1 + d % 3}")
        rows.append(f"{day},ios,us,top_free_overall,b,AppB,{10 + d % 5}")
    return "\n".join(rows) + "\n"


GOOD = HEADER + panel_rows()
CUSTOM = ["-p", "comparison_cutoff=2021-01-25", "-p", "pre_days=20", "-p", "post_days=10",
          "-p", "apps=AppA,AppB", "-p", "countries=us"]


def _replace_line(text: str, line_no: int, new: str) -> str:
    lines = text.splitlines()
    lines[line_no] = new
    return "\n".join(lines) + "\n"


# name -> (file name, file content or None, extra -p arguments, phrases expected in the message)
CORPUS = {
    "empty CSV": ("empty.csv", "", [], ["empty.csv", "empty"]),
    "header only": ("header.csv", HEADER, [], ["header.csv", "no rows"]),
    "ragged CSV row": ("ragged.csv", GOOD.replace("AppB,11\n", "AppB,11,extra\n", 1), [], ["ragged.csv", "row 4", "fields"]),
    "malformed parquet": ("bad.parquet", "PAR1 this is not parquet", [], ["bad.parquet", "cannot be read as parquet"]),
    "missing column": ("nocol.csv", GOOD.replace(",rank\n", ",position\n", 1), [], ["nocol.csv", "missing column", "rank"]),
    "duplicate key": ("dup.csv", GOOD + "2021-01-01,ios,us,top_free_overall,a,AppA,7\n", [],
                      ["dup.csv", "column 'app_id'", "row 81", "duplicate key", "row 1"]),
    "rank zero": ("rank0.csv", _replace_line(GOOD, 3, "2021-01-02,ios,us,top_free_overall,a,AppA,0"), [],
                  ["rank0.csv", "column 'rank'", "row 3", ">= 1"]),
    "rank not integer": ("rankf.csv", _replace_line(GOOD, 3, "2021-01-02,ios,us,top_free_overall,a,AppA,2.5"), [],
                         ["rankf.csv", "column 'rank'", "row 3", "not an integer"]),
    "unparseable date": ("date.csv", _replace_line(GOOD, 5, "2021-01-3x,ios,us,top_free_overall,a,AppA,2"), [],
                         ["date.csv", "column 'date'", "row 5", "unparseable date"]),
    "date with a time (irregular)": ("time.csv", _replace_line(GOOD, 5, "2021-01-03T14:00,ios,us,top_free_overall,a,AppA,2"), [],
                                     ["time.csv", "column 'date'", "row 5"]),
    "intervention outside the data": ("ok1.csv", GOOD, ["-p", "comparison_cutoff=2022-01-01"], ["outside the data"]),
    "too few pre-period days": ("ok2.csv", GOOD, ["-p", "pre_days=3"], ["pre_days must be at least 7"]),
    "window before the data": ("ok3.csv", GOOD, ["-p", "pre_days=60"], ["reaches before the data"]),
    "empty app selection": ("ok4.csv", GOOD, ["-p", "apps=[]"], ["no apps selected"]),
    "unknown app": ("ok5.csv", GOOD, ["-p", "apps=AppZ"], ["['AppZ'] not in the data", "available"]),
    "empty country selection": ("ok6.csv", GOOD, ["-p", "countries=[]"], ["no countries selected"]),
    "unknown parameter": ("ok7.csv", GOOD, ["-p", "windw=3"], ["unknown parameter 'windw'", "pre_days (int)", "apps (list[str])"]),
    "wrongly typed value": ("ok8.csv", GOOD, ["-p", "pre_days=twenty"], ["'pre_days' expects int, got 'twenty'"]),
    "bad alpha": ("ok9.csv", GOOD, ["-p", "alpha=1.5"], ["alpha"]),
    "unknown error model": ("ok11.csv", GOOD, ["-p", "errors=robust"], ["model parameters", "errors must be one of", "'robust'"]),
    "unknown impact shape": ("ok12.csv", GOOD, ["-p", "impact=zigzag"], ["impact must be one of"]),
    "bad downloads exponent": ("ok13.csv", GOOD, ["-p", "downloads_exponent=1.1,0.8"], ["exponent range"]),
    "malformed events file": ("ok10.csv", GOOD, ["EVENTS"], ["events.csv", "column 'kind'", "row 2", "unknown kind"]),
    "missing panel file": (None, None, [], ["nowhere.csv", "not found"]),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_exits_2_with_a_precise_message_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    name, content, extra, phrases = CORPUS[case]
    reports = tmp_path / "reports"
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(reports))
    path = tmp_path / (name or "nowhere.csv")
    if content is not None:
        path.write_text(content)
    args = ["run", "--study", "custom", "-p", f"panel_file={path}", *CUSTOM]
    if extra == ["EVENTS"]:
        events = tmp_path / "events.csv"
        lines = EVENTS_FILE.read_text().splitlines()
        lines[2] = lines[2].replace(",other,", ",riot,")
        events.write_text("\n".join(lines) + "\n")
        args += ["-p", f"events_file={events}"]
    else:
        args += extra
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    message = err.strip()
    assert message.startswith("exodus: error: ") and "\n" not in message  # one paragraph
    for phrase in phrases:
        assert phrase in message, (phrase, message)
    assert not list(reports.rglob("manifest.json"))  # no version, complete or failed
    assert not list(reports.rglob(".build-*"))


def test_good_custom_panel_runs_end_to_end_as_real_not_synthetic(tmp_path, monkeypatch, capsys):
    """The corpus cases fail only because of their defect: the same panel, intact, runs."""
    from analysis.report.run import runner

    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    values = runner.check_inputs_only("custom", {"panel_file": str(path), "comparison_cutoff": "2021-01-25",
                                                 "pre_days": "20", "post_days": "10", "apps": "AppA,AppB",
                                                 "countries": "us"})
    assert values["panel_file"] == str(path)
    from analysis.data.studies.registry import load_study

    data = load_study("custom", panel_file=str(path))
    assert data.synthetic is False and data.panel.height == 80
    assert any(s.get("sha256") for s in data.sources)


def test_panel_file_with_another_study_is_refused(tmp_path):
    from analysis.data.studies.registry import load_study
    from analysis.errors import InputError

    with pytest.raises(InputError, match="--study custom"):
        load_study("demo", panel_file=str(Path(tmp_path) / "x.csv"))
