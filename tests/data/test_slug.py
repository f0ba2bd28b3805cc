"""Slugs never collide (issue 20): a name that looks like another name's slug gets its own, so
two apps can never overwrite each other's figures."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.data.slug import PathEscape, inside, slug
from tests.cli.test_bad_input import CUSTOM, GOOD, HEADER, panel_rows  # noqa: F401


@pytest.mark.parametrize("name", ["Signal", "Signal (software)", "", "!!!", "Élément", "a" * 100])
def test_a_name_spelled_like_another_names_slug_gets_a_different_slug(name):
    taken = slug(name)
    assert taken != name
    assert slug(taken) != taken  # the app literally called e.g. "signal-<8 hex>" is not written over "Signal"


def test_plain_names_stay_readable_and_changed_names_all_end_in_the_hash():
    assert slug("telegram") == "telegram" and slug("its-level") == "its-level"
    assert slug("") .startswith("n-") and len(slug("")) == 10
    assert slug("deadbeef-12345678") != "deadbeef-12345678"


def test_two_apps_whose_figure_names_used_to_collide_write_two_files(tmp_path):
    from analysis.report.page.outputs import Outputs

    a, b = "Signal", slug("Signal")
    out = Outputs(str(tmp_path), "02_its")
    paths = {out.path("figures", f"its-{slug(a)}"), out.path("figures", f"its-{slug(b)}")}
    assert len(paths) == 2


def test_outputs_refuse_two_names_that_map_to_one_file(tmp_path, monkeypatch):
    from analysis.report.page import outputs

    out = outputs.Outputs(str(tmp_path), "02_its")
    assert out.path("figures", "a") == out.path("figures", "a")  # the same name again is fine
    monkeypatch.setattr(outputs, "slug", lambda name: "same")
    out = outputs.Outputs(str(tmp_path), "02_its")
    out.path("figures", "its-A")
    with pytest.raises(ValueError, match="'its-A' and 'its-B' map to the same file"):
        out.path("figures", "its-B")


TRAVERSALS = ["a/../../../../outside/x", "../demo/demo-20210101-abc/figures/02_its-its-signal", "/etc/passwd",
              "..", ".", "", "a\\..\\..\\x", "C:\\x", "a\x00b", "<!--<script>", "</script>", "Signal", "signal"]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_slug_is_safe_and_marks_every_change(name):
    s = slug(name)
    assert re.fullmatch(r"[a-z0-9_-]+", s) and ".." not in s and "/" not in s
    assert (s == name) == bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name))
    assert (slug(s) == s) == (s == name)  # a changed name's slug is changed again: no name takes another's slug


@given(st.text(max_size=80), st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_slug_is_safe_and_injective_on_arbitrary_unicode(a, b):
    for name in (a, b):
        assert re.fullmatch(r"[a-z0-9_-]{1,64}", slug(name))
    if a != b:
        assert slug(a) != slug(b)


def test_slug_keeps_case_apart_and_plain_names_unchanged():
    assert slug("forest-level") == "forest-level" and slug("signal") == "signal"
    assert slug("Signal").startswith("signal-") and slug("Signal") != slug("signal")


@pytest.mark.parametrize("name", TRAVERSALS)
def test_figure_and_table_names_from_data_stay_inside_the_version(name, tmp_path):
    from analysis.report.page.outputs import Outputs, write_table

    version = tmp_path / "reports" / "demo" / "v1"
    out = Outputs(str(version), "02_its")
    p = out.path("figures", f"its-{name}")
    assert p.is_relative_to(version.resolve()) and p.parent == (version / "figures").resolve()
    write_table(pl.DataFrame({"x": [1]}), out.path("tables", name, ".csv"))
    written = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(written) == 1 and written[0].is_relative_to(version / "tables")


@pytest.mark.parametrize("rel", ["../x", "a/../../x", "/etc/passwd"])
def test_inside_refuses_paths_that_leave_their_root(rel, tmp_path):
    with pytest.raises(PathEscape, match="outside"):
        inside(tmp_path / "root", rel)


def test_inside_refuses_a_symlink_that_leaves_its_root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscape, match="outside"):
        inside(tmp_path / "root", "link/x")
