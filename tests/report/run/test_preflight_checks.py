"""Late failures turned into pre-flight refusals (issue 20): values that used to fail inside a
notebook (exit 1, a failed version) now stop `exodus run` with exit 2 and nothing written, and
every list parameter either accepts the empty list meaningfully or is refused, generated from
the parameter definitions."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analysis import cli, params
from analysis.config import EVENTS_FILE
from analysis.errors import ParameterError
from analysis.report.run.preflight import preflight
from analysis.report.run.preflight_checks import EMPTY_OK

LISTS = [n for n, s in params.specs().items() if s.type.startswith("list[") and n not in params.INTERNAL]


def test_the_list_parameters_are_found_from_the_definitions():
    assert {"cutoff_shifts", "donut_days", "event_kinds", "placebo_apps", "contrast_controls", "apps"} <= set(LISTS)
    assert set(EMPTY_OK) <= set(LISTS)


@pytest.mark.parametrize("name", [n for n in LISTS if n not in EMPTY_OK])
def test_an_empty_list_parameter_is_refused_in_preflight_naming_it(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    assert cli.main(["run", "-p", f"{name}="]) == 2
    err = capsys.readouterr().err
    assert err.startswith("exodus: error: ") and name in err, err
    assert not list(tmp_path.rglob("manifest.json")) and not list(tmp_path.rglob(".build-*"))


@pytest.mark.parametrize("name", sorted(EMPTY_OK))
def test_an_empty_list_parameter_that_means_something_passes_preflight(name):
    checked = preflight("demo", {name: "", "apps": "Telegram", "countries": "us"})
    assert getattr(checked.params, name) == []


def _refused(tmp_path, monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    code = cli.main(["run", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("exodus: error: ") and "\n" not in err
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").rglob("manifest.json"))
    return err


@pytest.mark.parametrize(("extra", "phrases"), [
    (["comparison_cutoff=2021-03-31"], ["post_days=30 reaches past the data", "data end 2021-03-31",
                                        "move comparison_cutoff to 2021-03-25 or earlier"]),
    (["comparison_cutoff=2021-03-20"], ["post_days=30 reaches past the data", "12 day(s)", "post_days must be 7..12"]),
    (["post_days=400"], ["post_days=400 reaches past the data", "2022-02-11", "post_days must be 7..83"]),
    (["cutoff_shifts=1000"], ["cutoff_shifts [1000] move the intervention too far", "-57..27"]),
    (["cutoff_shifts=-3,0,28"], ["cutoff_shifts [28]", "-57..27"]),
    (["donut_days=-1"], ["donut_days [-1] out of range", "0..27"]),
    (["donut_days=0,28"], ["donut_days [28] out of range"]),
    (["window_days=100000"], ["window_days=100000 is longer than the post-period", "1..30"]),
    (["event_shapes=X99:step"], ["event_shapes: unknown event id(s) ['X99']", "events_jan2021.csv", "X03"]),
    (["exclude_events=X11,Y7"], ["exclude_events: unknown event id(s) ['Y7']"]),
    (["contrast_controls="], ["contrast_controls is empty"]),
    (["default_depth=1000000000000000000000"], ["default_depth=1000000000000000000000 is larger than any chart"]),
])
def test_values_that_failed_inside_the_notebooks_are_refused_before_anything_runs(extra, phrases, tmp_path,
                                                                                  monkeypatch, capsys):
    err = _refused(tmp_path, monkeypatch, capsys, *[a for x in extra for a in ("-p", x)])
    for phrase in phrases:
        assert phrase in err, (phrase, err)


@pytest.mark.parametrize("value", ["-5", "0", "1.5"])
def test_a_cell_timeout_below_one_second_is_refused(value, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--cell-timeout", value])
    assert exc.value.code == 2 and "--cell-timeout" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*"))


def test_an_events_file_with_every_event_outside_the_window_is_refused(tmp_path, monkeypatch, capsys):
    events = pl.read_csv(EVENTS_FILE, infer_schema_length=0)
    shifted = events.with_columns(
        [pl.col(c).str.replace(r"^202[01]", "2019") for c in ("date_utc", "date_end_utc", "local_date") if c in events.columns])
    path = tmp_path / "events_2019.csv"
    shifted.write_csv(path)
    err = _refused(tmp_path, monkeypatch, capsys, "-p", f"events_file={path}")
    assert "no selected event has its first affected snapshot inside" in err and str(path) in err


def test_the_default_window_days_adapts_to_a_short_post_period_with_a_note():
    checked = preflight("demo", {"post_days": "10", "apps": "Telegram", "countries": "us"})
    assert checked.params.window_days == 10
    assert "window_days: the default 14 is longer than post_days=10; using 10" in checked.notes


def test_event_shapes_that_drop_the_default_decay_say_so():
    checked = preflight("demo", {"event_shapes": "X02:step", "apps": "Telegram", "countries": "us"})
    assert any("X03:decay:14 no longer applies" in n for n in checked.notes)
    with pytest.raises(ParameterError, match="X99"):
        preflight("demo", {"event_shapes": "X03:decay:14,X99:step"})


@pytest.mark.slow
def test_a_run_with_every_meaningful_empty_list_completes(tmp_path):
    from analysis.report.run import runner

    out = runner.run("demo", {name: "" for name in EMPTY_OK} | {"apps": "Telegram,Signal", "countries": "us,gb",
                                                               "coverage_replicates": "50"}, root=tmp_path)
    assert out.status == "complete", out.message
    assert Path(out.path / "manifest.json").exists()
