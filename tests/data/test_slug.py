"""Slugs never collide (issue 20): a name that looks like another name's slug gets its own, so
two apps can never overwrite each other's figures."""

from __future__ import annotations

import pytest

from analysis.data.slug import slug


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
