"""Notebook parameters: parsed from the parameters cells, validated before a run."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import params
from analysis.errors import InputError, ParameterError
from analysis.report.run import check_inputs_only, notebooks


@pytest.fixture(scope="module")
def specs():
    return params.collect(notebooks())


def test_every_notebook_declares_the_student_parameters(specs):
    needed = {"study", "intervention_date", "pre_days", "post_days", "apps", "countries", "store", "chart", "alpha", "seed"}
    assert needed <= set(specs)
    for s in specs.values():
        assert s.help, f"{s.name} has no help text"
    for name in needed:
        assert len(specs[name].notebooks) == len(notebooks())


def test_types_come_from_the_defaults(specs):
    assert specs["pre_days"].type == "int"
    assert specs["alpha"].type == "float"
    assert specs["apps"].type == "list[str]"


def test_overrides_are_converted(specs):
    v = params.resolve(specs, {"pre_days": "45", "apps": "Signal,Telegram", "countries": '["us"]', "alpha": "0.1"})
    assert v["pre_days"] == 45 and v["apps"] == ["Signal", "Telegram"] and v["countries"] == ["us"] and v["alpha"] == 0.1


def test_unknown_parameter_lists_valid_names_and_types(specs):
    with pytest.raises(ParameterError) as err:
        params.resolve(specs, {"pre_dayz": "3"})
    assert "pre_dayz" in str(err.value) and "pre_days (int)" in str(err.value) and "apps (list[str])" in str(err.value)


def test_wrong_type_is_named(specs):
    with pytest.raises(ParameterError, match="'pre_days' expects int, got 'many'"):
        params.resolve(specs, {"pre_days": "many"})


def test_internal_parameters_cannot_be_set(specs):
    with pytest.raises(ParameterError, match="unknown parameter 'output_dir'"):
        params.resolve(specs, {"output_dir": "/tmp"})


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ({"intervention_date": "2022-01-01"}, "outside the data"),
        ({"intervention_date": "8 Jan"}, "YYYY-MM-DD"),
        ({"pre_days": "200"}, "reaches before the data"),
        ({"apps": "Signl"}, "not in the data"),
        ({"countries": "[]"}, "no countries selected"),
        ({"store": "windows"}, "not in the data"),
        ({"alpha": "0.9"}, "alpha"),
    ],
)
def test_values_are_checked_against_the_data_before_running(override, phrase):
    with pytest.raises(InputError, match=phrase):
        check_inputs_only("demo", override)


def test_assignments_must_have_an_equals_sign():
    with pytest.raises(ParameterError, match="name=value"):
        params.parse_assignments(["pre_days"])


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_int_parameters_round_trip(specs_value):
    specs = {"n": params.ParamSpec("n", "int", 1, "")}
    assert params.resolve(specs, {"n": str(specs_value)})["n"] == specs_value


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=',"\\[]', blacklist_categories=("Cs", "Cc")), min_size=1).map(str.strip).filter(bool), min_size=1, max_size=5))
def test_list_parameters_round_trip_comma_and_json(items):
    specs = {"xs": params.ParamSpec("xs", "list[str]", ["a"], "")}
    assert params.resolve(specs, {"xs": ",".join(items)})["xs"] == items
    import json

    assert params.resolve(specs, {"xs": json.dumps(items)})["xs"] == items
