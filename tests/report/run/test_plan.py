"""The run plan: built once, written as one artifact, read by every notebook without reloading
the study or refitting what it holds."""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from analysis.data.studies import registry
from analysis.params import StudyParams
from analysis.report.run import plan as plan_mod
from analysis.report.run import setup as setup_mod

SMALL = dict(apps=["Signal", "Telegram"], countries=["us", "in"])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    params = StudyParams(**SMALL)
    data = registry.load_study("demo", seed=params.seed)
    plan = plan_mod.build_plan(params, data)
    out = tmp_path_factory.mktemp("build")
    plan_mod.write_plan(plan, out)
    return params, plan, out


def test_plan_round_trip_gives_the_same_frames_and_fits(built):
    params, plan, out = built
    back = plan_mod.read_plan(out, {"apps": SMALL["apps"]})
    assert back.params.apps == SMALL["apps"] and back.params.countries == SMALL["countries"]
    assert_frame_equal(back.data.panel, plan.data.panel)
    assert_frame_equal(back.series, plan.series)
    assert_frame_equal(back.study.effects, plan.study.effects)
    assert_frame_equal(back.comparison.effects, plan.comparison.effects)
    assert back.study.spec == plan.study.spec
    assert back.data.truth is not None and back.data.truth.world is None
    assert_frame_equal(back.data.truth.event_truth, plan.data.truth.event_truth)


def test_plan_does_not_carry_the_demo_world(built):
    _, plan, out = built
    assert plan.data.truth.world is None
    size = sum(p.stat().st_size for p in plan_mod.plan_dir(out).iterdir())
    assert size < 5_000_000, size


def test_a_notebook_given_other_parameters_is_refused(built):
    _, _, out = built
    with pytest.raises(plan_mod.PlanMismatch, match="apps"):
        plan_mod.read_plan(out, {"apps": ["Parler"]})


def test_a_changed_plan_part_is_refused(built, tmp_path):
    _, plan, _ = built
    plan_mod.write_plan(plan, tmp_path)
    part = plan_mod.plan_dir(tmp_path) / "study-effects.parquet"
    pl.read_parquet(part).with_columns(pl.col("estimate") * 2).write_parquet(part)
    with pytest.raises(plan_mod.PlanMismatch, match="SHA-256"):
        plan_mod.read_plan(tmp_path)


def test_setup_reads_the_plan_and_never_reloads_the_study(built, monkeypatch):
    params, plan, out = built

    def boom(*a, **k):
        raise AssertionError("a notebook reloaded the study")

    monkeypatch.setattr(setup_mod, "load_study", boom)
    monkeypatch.setattr(plan_mod, "fit_study", boom)
    ctx = setup_mod.setup("03_summary", {"apps": SMALL["apps"], "countries": SMALL["countries"],
                                         "output_dir": str(out)})
    assert_frame_equal(ctx.study.effects, plan.study.effects)
    assert ctx.params.countries == SMALL["countries"]


def test_a_failed_fit_is_recorded_and_raised_where_it_is_read(tmp_path, monkeypatch):
    params = StudyParams(**SMALL)
    data = registry.load_study("demo", seed=params.seed)

    def fails(*a, **k):
        raise ValueError("no identifiable term")

    monkeypatch.setattr(plan_mod, "fit_study", fails)
    plan = plan_mod.build_plan(params, data)
    plan_mod.write_plan(plan, tmp_path)
    meta = json.loads((plan_mod.plan_dir(tmp_path) / "plan.json").read_text())
    assert meta["errors"] == {"study": "ValueError: no identifiable term"}
    back = plan_mod.read_plan(tmp_path)
    with pytest.raises(RuntimeError, match="no identifiable term"):
        back.study  # noqa: B018
    assert back.comparison.effects.height > 0
