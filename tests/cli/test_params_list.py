"""`exodus params`: grouped by what a parameter acts on, unknown studies refused (exit 2), and
every study defaulting to the error model whose intervals cover (AR(1))."""

from __future__ import annotations

import io
from datetime import date, timedelta

import polars as pl
import pytest

from analysis import params
from analysis.cli.main import main as cli_main
from analysis.cli.params_list import GROUPS, STUDY_NAMES, SYNTHETIC_STUDIES, print_params


def test_every_parameter_is_in_exactly_one_of_the_five_groups():
    listed = [n for names in GROUPS.values() for n in names]
    public = [n for n in params.specs() if n not in params.INTERNAL]
    assert list(GROUPS) == ["data", "design", "model", "robustness", "output"]
    assert sorted(listed) == sorted(public) and len(listed) == len(set(listed))


def test_study_names_of_the_cli_are_the_studies_that_load():
    from analysis.data.studies.registry import STUDIES

    assert set(STUDY_NAMES) == set(STUDIES)
    assert SYNTHETIC_STUDIES == {"demo"}


def test_params_prints_each_group_heading_then_its_parameters_in_order():
    buf = io.StringIO()
    assert print_params("wiki-top100", buf) == 0
    lines = buf.getvalue().splitlines()
    assert "REAL data" in lines[0]
    heads = [i for i, line in enumerate(lines) if line.rstrip(":") in GROUPS]
    assert [lines[i].rstrip(":") for i in heads] == list(GROUPS)
    for (group, names), start in zip(GROUPS.items(), heads, strict=True):
        firsts = [line.split()[0] for line in lines[start + 1:start + 1 + 2 * len(names):2]]
        assert firsts == list(names), group
    errors = next(line for line in lines if line.split()[:1] == ["errors"])
    assert "'ar1' (study default)" in errors


@pytest.mark.parametrize("command", [["params", "--study", "nosuch"], ["run", "--study", "nosuch"]])
def test_unknown_study_is_refused_with_exit_2_naming_the_choices(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(command)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "nosuch" in err and "wiki-top100" in err and "wiki-views" in err


@pytest.mark.parametrize("study", STUDY_NAMES)
def test_every_study_defaults_to_ar1_errors(study):
    from analysis.data.studies.registry import study_defaults

    assert params.resolve({}, study_defaults(study)).errors == "ar1"


def test_wiki_views_defaults_from_a_lock_use_ar1_errors():
    from analysis.data.sources.pageviews import views_defaults

    days = [date(2020, 11, 1) + timedelta(days=i) for i in range(120)]
    views = pl.DataFrame({"app_name": ["Signal"] * 120, "country": ["en"] * 120, "date": days})
    d = views_defaults(views)
    assert d["errors"] == "ar1" and d["comparison_cutoff"] == "2021-01-08"
    assert params.resolve({}, d).errors == "ar1"
