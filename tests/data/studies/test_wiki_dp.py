"""The wiki-dp study end to end on a SYNTHETIC DP-like release with known effects, served by a
loopback stand-in: fetch, panel, per-event fit, contrast US - mean(in,br,de), pooling and the
attribution table recover the simulated privacy shock and the US-only deplatforming effect."""

from __future__ import annotations

import math
import re
from datetime import date

import polars as pl
import pytest
from werkzeug import Response

from analysis.data.sources import wikimedia_dp as dp
from analysis.data.sources.remote import Http
from analysis.data.studies import wiki_dp as ws
from analysis.errors import InputError
from analysis.models.events import cross_country
from tests.data import dp_simulate as sim


@pytest.fixture
def release(httpserver, monkeypatch, tmp_path):
    files = sim.day_files()

    def handler(request):
        m = re.fullmatch(r"/dp/(\d{4}-\d{2}-\d{2})\.tsv", request.path)
        day = date.fromisoformat(m.group(1)) if m else None
        return Response(files[day]) if day in files else Response("not found", status=404)

    httpserver.expect_request(re.compile(r"/dp/.*")).respond_with_handler(handler)
    monkeypatch.setenv("EXODUS_WIKIMEDIA_DP", httpserver.url_for("/dp"))
    monkeypatch.setenv("EXODUS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path / "locks"))
    monkeypatch.setenv("EXODUS_REPORTS_DIR", str(tmp_path / "reports"))
    dp.fetch_dp(["Signal", "Twitter", "Parler"], sim.START, sim.END, ws.dp_lock(),
                http=Http(sleep=lambda s: None, log=lambda m: None), log=lambda m: None)
    return files


def test_without_a_lock_the_study_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("EXODUS_LOCKS_DIR", str(tmp_path))
    with pytest.raises(InputError, match=r"exodus data fetch --source wikimedia-dp --apps Signal,Telegram,WhatsApp,"
                                         r"Parler,Gab,MeWe,Rumble,Element,Threema,Twitter --start 2020-12-01 "
                                         r"--end 2021-02-28 --lock"):
        ws.load_dp_study(ws.dp_lock())
    assert ws.study_defaults() == {}


def test_defaults_follow_the_lock_and_the_contrast_countries(release):
    d = ws.study_defaults()
    assert d["apps"] == ["Signal", "Twitter"] and d["countries"] == ["us", "in", "br", "de"]
    assert d["contrast_treated"] == "us" and d["contrast_controls"] == ["in", "br", "de"]
    assert (d["pre_days"], d["post_days"]) == (34, 30) and d["censored"] is True


def test_the_loaded_panel_reproduces_the_served_numbers(release):
    data = ws.load_dp_study(ws.dp_lock())
    day = date(2021, 1, 20)
    served = [ln.split("\t") for ln in release[day].decode().splitlines()]
    want = sum(int(f[6]) for f in served if f[5] == sim.QID["Signal"] and f[1] == "IN")
    got = data.views.filter(pl.col("app_name") == "Signal", pl.col("country") == "in", pl.col("date") == day)
    assert got["views"][0] == want and got["editions"][0] == "en.wikipedia,hi.wikipedia"
    tw = data.views.filter(pl.col("app_name") == "Twitter", pl.col("country") == "de")
    pre = tw.filter(pl.col("date") < date(2021, 1, 1))
    assert pre["status"].value_counts().sort("status")["status"].to_list() == ["censored"]  # 300 + noise < 450
    assert data.outcome == "dp-views" and data.chart_depth == 10**8 and data.synthetic is False


def fit(release):
    from analysis.models.events.estimates import fit_study
    from analysis.params import StudyParams

    data = ws.load_dp_study(ws.dp_lock())
    params = StudyParams(**{**ws.study_defaults(), "study": "wiki-dp"})
    return data, fit_study(data, params)


@pytest.mark.slow
def test_the_study_recovers_the_known_us_deplatforming_effect_beyond_the_common_privacy_shock(release):
    data, f = fit(release)
    tables = cross_country.study_tables(data, f)
    att = tables["attribution"]
    row = lambda level, country, group: att.filter(  # noqa: E731
        pl.col("level") == level, pl.col("app_name") == "Signal", pl.col("country") == country,
        pl.col("group") == group).row(0, named=True)
    # the contrast US - mean(in,br,de): the deplatformings added log(3) in the US (pseudo-rank: -log 3)
    c = row("contrast", "us - mean(in,br,de)", "deplatforming")
    assert c["ci_low"] <= -sim.DEPLATFORMING <= c["ci_high"]
    assert c["attention_multiple"] == pytest.approx(3.0, rel=0.2) and c["se"] < 0.3
    shock = row("contrast", "us - mean(in,br,de)", "privacy_shock")
    assert shock["ci_low"] <= 0 <= shock["ci_high"]  # the common shock is differenced out
    for cc in ("us", "in", "br", "de"):  # per country: the privacy shock, log(4) on views
        p = row("country", cc, "privacy_shock")
        assert p["ci_low"] <= -sim.PRIVACY <= p["ci_high"], cc
    assert row("country", "in", "deplatforming")["ci_low"] <= 0 <= row("country", "in", "deplatforming")["ci_high"]
    pooled = row("pooled", "pooled(br,de,in,us)", "privacy_shock")
    assert pooled["attention_multiple"] == pytest.approx(4.0, rel=0.15)
    assert set(att["country"]) >= {"us", "in", "br", "de"}  # from country_code, lower-cased
    ans = tables["deplatforming_answer"].sort("app_name").rows(named=True)
    assert ans[0]["sentence"].startswith("Signal: beyond the common privacy shock (us - mean(in,br,de)), the "
                                         "deplatformings (X04+X05+X06+X07+X12+X08+X09) multiplied daily pageviews by 3.")
    assert ans[0]["attention_multiple"] == pytest.approx(c["attention_multiple"])
    assert ans[1]["app_name"] == "Telegram" and ans[1]["attention_multiple"] is None  # no QID yet: not fetched
    noise = tables["dp_noise"].filter(pl.col("app_name") == "Signal", pl.col("country") == "us").row(0, named=True)
    assert noise["noise_sd_log_delta"] == pytest.approx(math.sqrt(2) * 30 / noise["median_views"])


@pytest.mark.slow
def test_exodus_run_wiki_dp_writes_the_attribution_table_offline(release, tmp_path, httpserver, capsys):
    import json

    from analysis import cli

    n = len(httpserver.log)
    assert cli.main(["run", "--study", "wiki-dp"]) == 0, capsys.readouterr().err[-3000:]
    assert len(httpserver.log) == n  # offline once fetched
    version = next((tmp_path / "reports" / "wiki-dp").glob("wiki-dp-*"))
    att = pl.read_csv(version / "tables" / "attribution.csv")
    assert {"us", "in", "br", "de"} <= set(att.filter(pl.col("level") == "country")["country"])
    c = att.filter(pl.col("level") == "contrast", pl.col("app_name") == "Signal", pl.col("group") == "deplatforming")
    assert c["ci_low"][0] <= -sim.DEPLATFORMING <= c["ci_high"][0]
    m = json.loads((version / "manifest.json").read_text())
    assert m["parameters"]["contrast_controls"] == ["in", "br", "de"] and m["synthetic"] is False
    assert any("Laplace noise of scale 30" in note for note in m["study_notes"])
    from analysis.report.answer.table import read_answer

    answer = read_answer(version / "tables" / "03_summary-answer.csv")
    wa = answer.filter(pl.col("estimand") == "window_average", pl.col("app_name") == "Signal", pl.col("country") == "us")
    assert "Signal saw" in wa["sentence"][0] and "more attention" in wa["sentence"][0] and answer["downloads_factor"].null_count() == answer.height
    assert m["headline"][0]["outcome"] == "dp-views"
    for name in ("deplatforming_answer", "headline_multiples", "dp_panel", "dp_noise", "study_views"):
        assert (version / "tables" / f"{name}.csv").is_file()
