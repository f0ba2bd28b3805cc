"""The curated public API: at most 15 names, each importable, documented, and what it says it is."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import analysis


def test_public_api_has_at_most_15_names_and_each_resolves_to_a_documented_object():
    names = [n for n in analysis.__all__ if n != "__version__"]
    assert 0 < len(names) <= 15, names
    for name in names:
        obj = getattr(analysis, name)
        assert inspect.getdoc(obj), f"analysis.{name} has no docstring"
        home = importlib.import_module(analysis._API[name])
        assert getattr(home, name) is obj
        assert f"{name}`" in analysis.__doc__, f"analysis.{name} is not in the package docstring"


def test_importing_the_package_imports_no_submodule():
    code = "import sys, analysis; print(sorted(m for m in sys.modules if m.startswith('analysis.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_an_unknown_name_is_an_attribute_error():
    try:
        analysis.nosuch  # noqa: B018
    except AttributeError as exc:
        assert "nosuch" in str(exc)
    else:
        raise AssertionError("analysis.nosuch resolved")
