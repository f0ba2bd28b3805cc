"""The landing page: the newest complete answer of every study, labelled SYNTHETIC / REAL with
its changed parameters, and the versions compared in the answer's terms."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from analysis.report.answer.sentences import fmt
from analysis.report.page import compare as C
from analysis.report.page.landing import landing_page, study_answers

EVIL = "<script>alert(1)</script>"


def _manifest(study: str, created: str, *, status: str = "complete", synthetic: bool | None = None,
              estimate: float = -1.0, params: dict | None = None, text: str = "text") -> dict:
    base = C.study_default_values(study)
    return {
        "study": study, "version": f"{study}-{created[:10]}-{abs(hash((study, created))) % 10**6:06d}",
        "synthetic": study == "demo" if synthetic is None else synthetic, "status": status, "created_utc": created,
        "parameters": {**base, **(params or {})},
        "answer": {"paragraphs": [["Signal", f"{text} {created}"]], "notes": [], "figure": None, "coverage": None},
        "headline": [{"series": "Signal US ios", "kind": "estimate", "estimate": estimate, "ci_low": estimate - 0.5,
                      "ci_high": estimate + 0.5, "outcome": "rank"}],
        "git": {}, "inputs": [],
    }


def _found(root: Path, items: list[tuple[dict, str]]) -> list[tuple[Path, dict, str]]:
    out = []
    for m, mark in items:
        d = root / m["study"] / m["version"]
        d.mkdir(parents=True)
        out.append((d, m, mark))
    return out


def test_each_study_shows_its_newest_complete_verified_answer(tmp_path):
    found = _found(tmp_path, [
        (_manifest("demo", "2026-12-01T00:00:00", estimate=-1.0), "verified"),
        (_manifest("demo", "2026-12-02T00:00:00", estimate=-2.0, params={"apps": ["Telegram"]}), "verified"),
        (_manifest("demo", "2026-12-03T00:00:00", status="failed"), "verified"),
        (_manifest("demo", "2026-12-04T00:00:00"), "tampered: 1 file(s) differ"),
        (_manifest("wiki-top100", "2026-11-30T00:00:00", estimate=-0.7), "verified"),
    ])
    answers = study_answers(tmp_path, found)
    assert [(a["study"], a["kind"]) for a in answers] == [("demo", "SYNTHETIC"), ("wiki-top100", "REAL")]
    demo, wiki = answers
    assert demo["created_utc"] == "2026-12-02T00:00:00" and demo["changed"] == {"apps": ["Telegram"]}
    assert demo["terms"][0]["text"] == f"\u00d7{fmt(math.exp(2.0))} ({fmt(math.exp(1.5))}\u2013{fmt(math.exp(2.5))})"
    assert wiki["changed"] == {}  # the study's own defaults (errors ar1, censored, ...) are not changes


def test_landing_page_labels_studies_and_defaults_the_comparison_to_one_study(tmp_path):
    found = _found(tmp_path, [
        (_manifest("wiki-top100", "2026-12-03T00:00:00", text=EVIL), "verified"),
        (_manifest("demo", "2026-12-02T00:00:00", params={"post_days": 20}), "verified"),
        (_manifest("demo", "2026-12-01T00:00:00"), "verified"),
    ])
    rows = [{"version": m["version"], "href": f"{m['study']}/{m['version']}/index.html", "study": m["study"],
             "created_utc": m["created_utc"], "commit": "", "status": "complete", "integrity": "verified",
             "headline": "", "parameters": m["parameters"], "inputs": {}} for _, m, _ in found]
    page = landing_page(tmp_path, rows, found)
    assert EVIL not in page
    answer = page[page.index("<h2>The answer</h2>"):page.index("<h2>Versions</h2>")]
    assert "demo <span class='kind-synthetic'>SYNTHETIC DATA</span>" in answer
    assert "wiki-top100 <span class='kind-real'>REAL DATA</span>" in answer
    assert answer.index("id='answer-demo'") < answer.index("id='answer-wiki-top100'")
    assert "post_days=20" in answer  # the newest demo version, with what differs from the defaults
    pair = json.loads(re.search(r"id='pair-data'>(.*?)</script>", page).group(1))
    versions = json.loads(re.search(r"id='versions-data'>(.*?)</script>", page).group(1))
    assert [versions[i]["study"] for i in pair] == ["demo", "demo"] and pair == [2, 1]
    assert versions[1]["label"].startswith("demo \u00b7 2026-12-02 00:00 \u00b7 post_days=20")
    assert versions[1]["estimates"] == {"Signal US ios \u00b7 all events":
                                        f"\u00d7{fmt(math.e)} ({fmt(math.exp(0.5))}\u2013{fmt(math.exp(1.5))})"}
    assert versions[0]["data"] == "REAL" and versions[2]["changed_parameters"] == "defaults"
