"""The study's parameters: one typed definition (StudyParams) feeding `exodus params`, `-p`
checking, the runner and the notebooks' parameters cells."""

from __future__ import annotations

import dataclasses
import json

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import params
from analysis.config import NOTEBOOKS
from analysis.errors import InputError, ParameterError
from analysis.report.run.runner import check_inputs_only, notebooks


@pytest.fixture(scope="module")
def specs():
    return params.specs()


def _cell(name: str) -> str:
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    return next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_notebook_parameters_cells_are_generated_from_the_definition(name):
    """The committed cell is exactly what `python -m analysis.params` writes from StudyParams."""
    assert _cell(name) == params.parameters_cell(name)


@pytest.mark.parametrize("name", params.NOTEBOOKS)
def test_executing_a_parameters_cell_gives_the_typed_defaults(name):
    ns: dict = {}
    exec(_cell(name), ns)  # noqa: S102 - our own generated literal assignments
    defaults = params.StudyParams().as_dict()
    declared = {n for n, s in params.specs().items() if name in s.notebooks}
    assert {k: v for k, v in ns.items() if k != "__builtins__"} == {k: defaults[k] for k in declared}


def test_notebook_order_matches_the_definition():
    assert [p.stem for p in notebooks()] == list(params.NOTEBOOKS)


def test_every_field_has_help_type_and_notebooks(specs):
    needed = {"study", "comparison_cutoff", "pre_days", "post_days", "apps", "countries", "store", "chart", "alpha", "seed"}
    assert needed <= set(specs)
    for s in specs.values():
        assert s.help, f"{s.name} has no help text"
        assert s.type in {"int", "float", "str", "bool", "list[str]", "list[int]", "list[float]"}, s
        assert set(s.notebooks) <= set(params.NOTEBOOKS) and s.notebooks
    for name in needed:
        assert specs[name].notebooks == params.NOTEBOOKS
    assert specs["focus_app"].notebooks == ("04_robustness",)


def test_types_come_from_the_annotations(specs):
    assert specs["pre_days"].type == "int"
    assert specs["alpha"].type == "float"
    assert specs["apps"].type == "list[str]"
    assert specs["downloads_exponent"].type == "list[float]"
    assert specs["censored"].type == "bool"
    hints = {f.name: f.type for f in dataclasses.fields(params.StudyParams)}
    assert hints["cutoff_shifts"] == "list[int]"


def test_defaults_are_not_shared_between_instances():
    a, b = params.StudyParams(), params.StudyParams()
    assert a.apps == b.apps and a.apps is not b.apps
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.seed = 1  # type: ignore[misc]


def test_overrides_are_converted():
    v = params.resolve({"pre_days": "45", "apps": "Signal,Telegram", "countries": '["us"]', "alpha": "0.1",
                        "censored": "yes", "downloads_exponent": "0.9,1.2"})
    assert v.pre_days == 45 and v.apps == ["Signal", "Telegram"] and v.countries == ["us"] and v.alpha == 0.1
    assert v.censored is True and v.downloads_exponent == [0.9, 1.2]


def test_unknown_parameter_lists_valid_names_and_types():
    with pytest.raises(ParameterError) as err:
        params.resolve({"pre_dayz": "3"})
    assert "pre_dayz" in str(err.value) and "pre_days (int)" in str(err.value) and "apps (list[str])" in str(err.value)


def test_wrong_type_is_named():
    with pytest.raises(ParameterError, match="'pre_days' expects int, got 'many'"):
        params.resolve({"pre_days": "many"})


def test_internal_parameters_cannot_be_set():
    with pytest.raises(ParameterError, match="unknown parameter 'output_dir'"):
        params.resolve({"output_dir": "/tmp"})


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ({"seed": "-1"}, "seed must be an integer from 0"),
        ({"downloads_exponent": "1,inf"}, "two finite numbers"),
        ({"downloads_exponent": "nan,1"}, "two finite numbers"),
        ({"downloads_exponent": "1"}, "two numbers"),
        ({"alpha": "0.9"}, "alpha must be in"),
        ({"post_days": "3"}, "post_days must be at least 7"),
        ({"comparison_cutoff": "8 Jan"}, "YYYY-MM-DD"),
        ({"coverage_replicates": "0"}, "coverage_replicates"),
        ({"default_depth": "0"}, "default_depth"),
        ({"groups": "X03"}, "EVENT_ID:GROUP"),
        ({"groups": "X03:tweets"}, "unknown group 'tweets'"),
    ],
)
def test_data_free_checks_of_the_definition(override, phrase):
    with pytest.raises(ParameterError, match=phrase):
        params.resolve(override)


def test_notebook_values_are_the_notebooks_declared_parameters():
    p = params.resolve({"focus_app": "Signal"})
    v01 = params.notebook_values(p, "01_data_overview", "/out")
    v04 = params.notebook_values(p, "04_robustness", "/out")
    assert "focus_app" not in v01 and v04["focus_app"] == "Signal" and v01["output_dir"] == "/out"
    json.dumps(v04)  # papermill injects JSON-able plain values


def test_sync_rewrites_a_stale_cell(tmp_path):
    import shutil

    for name in params.NOTEBOOKS:
        shutil.copy(NOTEBOOKS / f"{name}.ipynb", tmp_path)
    nb = nbformat.read(tmp_path / "02_its.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = "pre_days = 1  # stale"
    nbformat.write(nb, tmp_path / "02_its.ipynb")
    assert [p.name for p in params.sync_notebooks(tmp_path)] == ["02_its.ipynb"]
    assert params.sync_notebooks(tmp_path) == []


@pytest.mark.parametrize(
    ("override", "phrase"),
    [
        ({"comparison_cutoff": "2022-01-01"}, "outside the data"),
        ({"pre_days": "200"}, "reaches before the data"),
        ({"apps": "Signl"}, "not in the data"),
        ({"countries": "[]"}, "no countries selected"),
        ({"store": "windows"}, "not in the data"),
        ({"focus_app": "Signal", "apps": "Telegram"}, "focus_app 'Signal' is not in the selection"),
        ({"focus_country": "in", "countries": "us"}, "focus_country 'in' is not in the selection"),
        ({"placebo_apps": "Skype"}, r"placebo_apps \['Skype'\] not in the data"),
        ({"groups": "X99:other"}, "groups: unknown event id 'X99'"),
    ],
)
def test_values_are_checked_against_the_data_before_running(override, phrase):
    with pytest.raises(InputError, match=phrase):
        check_inputs_only("demo", override)


def test_data_defaults_adapt_to_the_selection():
    v = check_inputs_only("demo", {"apps": "Signal", "countries": "gb"})
    assert v["focus_app"] == "Signal" and v["focus_country"] == "gb"


def test_assignments_must_have_an_equals_sign():
    with pytest.raises(ParameterError, match="name=value"):
        params.parse_assignments(["pre_days"])


@given(st.integers(min_value=-10**9, max_value=10**9))
def test_int_parameters_round_trip(value):
    assert params.convert(str(value), "int", "n") == value


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters=',"\\[]', blacklist_categories=("Cs", "Cc")), min_size=1).map(str.strip).filter(bool), min_size=1, max_size=5))
def test_list_parameters_round_trip_comma_and_json(items):
    assert params.convert(",".join(items), "list[str]", "xs") == items
    assert params.convert(json.dumps(items), "list[str]", "xs") == items


def test_papermill_parses_every_parameter_of_every_notebook():
    """Papermill reads the parameters cell with its own parser (it cannot parse some values, e.g.
    an equals sign inside a string): every parameter a notebook uses must be visible to it, or
    ``-p`` values would be silently dropped ("Passed unknown parameter")."""
    import json

    from papermill.translators import PythonTranslator

    from analysis.config import NOTEBOOKS

    for nb in sorted(NOTEBOOKS.glob("*.ipynb")):
        cell = next(c for c in json.loads(nb.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
        cell["source"] = "".join(cell["source"])
        found = {p.name for p in PythonTranslator.inspect(cell)}
        wanted = set(params.notebook_values(params.StudyParams(), nb.stem, "x"))
        assert wanted <= found, (nb.name, wanted - found)


def test_notebook_values_given_as_text_by_papermill_are_converted_like_exodus_run_p():
    """`papermill -p countries '["us","in"]'` passes text: a list parameter must become the list,
    never a string split into characters; typed values (papermill -y, exodus run) pass unchanged."""
    from analysis.params import from_namespace

    p = from_namespace({"countries": '["us","in"]', "apps": "Signal, Telegram", "censored": "true",
                        "alpha": 0.1, "downloads_exponent": "[0.7, 1]", "pre_days": 40, "store": "ios",
                        "contrast_controls": ["gb"], "cutoff_shifts": "-1,0,1", "other_variable": "x"})
    assert p.countries == ["us", "in"] and p.apps == ["Signal", "Telegram"] and p.censored is True
    assert p.downloads_exponent == [0.7, 1.0] and p.cutoff_shifts == [-1, 0, 1] and p.contrast_controls == ["gb"]
    assert from_namespace({"alpha": 1}).alpha == 1.0 and isinstance(from_namespace({"alpha": 1}).alpha, float)
    with pytest.raises(ParameterError, match="'pre_days' expects int"):
        from_namespace({"pre_days": "sixty"})
