"""The answer opens the report page and the versions index; it flows from the notebook's files."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from analysis.data.events import load_events
from analysis.report.answer.section import (
    AnswerSection,
    headline_text,
    load_answer_section,
    publish_answer,
)
from analysis.report.answer.sentences import fmt
from analysis.report.answer.table import answer_table, headline_from_answer, truth_coverage
from analysis.report.page import html as pages
from analysis.report.page.outputs import Outputs
from tests.answer_fixtures import SCHEMA, effects, row, truth

EVIL = "<script>alert(1)</script>"


def manifest(**extra) -> dict:
    return {"status": "complete", "version": "demo-20210101-abc", "study": "demo", "title": "t",
            "created_utc": "2021-01-01T00:00:00+00:00", "notebooks": [], "parameters": {"alpha": 0.05},
            "sources": [], "inputs": [], "git": {"commit": "c", "dirty": False}, "code_fingerprint": "f",
            "version_hash": "h", "synthetic": True, "environment": {"python": "3.11", "platform": "x", "packages": {}},
            **extra}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    d = tmp_path_factory.mktemp("version")
    answer = publish_answer(Outputs(str(d), "03_summary"), effects(), truth=truth(), synthetic=True,
                            exponent_range=(0.8, 1.1), apps=["Discord"], reported_dir=d / "absent")
    return d, answer


def test_publish_writes_the_named_tables_and_the_figure(published):
    d, answer = published
    for name in ("answer", "truth_coverage", "exponent_check", "answer_notes"):
        assert (d / "tables" / f"03_summary-{name}.csv").exists()
    assert (d / "figures" / "03_summary-decomposition.vl.json").exists()
    assert (d / "figures" / "03_summary-decomposition.svg").exists()


def test_the_section_read_back_equals_what_the_notebook_computed(published):
    d, answer = published
    s = load_answer_section(d, ["Discord"])
    assert s.answer.height == answer.height and s.answer["sentence"].to_list() == answer["sentence"].to_list()
    assert s.coverage.to_dicts() == truth_coverage(answer).to_dicts()
    assert len(s.notes) == 2 and s.notes[0].startswith("The data cannot separate") and "was not checked" in s.notes[1]
    assert [a for a, _ in s.paragraphs][-1] == "Discord" and s.figure_svg == "figures/03_summary-decomposition.svg"
    assert load_answer_section(d / "tables") is None  # no answer table there


def test_report_page_opens_with_the_answer_before_the_parameters(published):
    d, _ = published
    s = load_answer_section(d)
    page = pages.report_page(manifest(), [], {}, s)
    assert page.index("<h2>The answer</h2>") < page.index("id='parameters'") < page.index("id='provenance'")
    assert page.index("<h2>The answer</h2>") < page.index("<caption>Notebooks</caption>")
    for _app, text in s.paragraphs:
        assert pages.html.escape(text) in page
    assert "exodus-chart" in page and "Truth coverage" in page and "Every row of the answer table" in page
    assert "This run produced no answer table" in pages.report_page(manifest(), [], {}, None)


def test_app_names_are_escaped_everywhere(tmp_path):
    ev = load_events()
    eff = pl.DataFrame([row(EVIL, "us", "ios", None, "window_average", e=-1.0, lo=-1.5, hi=-0.5)], schema=SCHEMA)
    ans = answer_table(eff, truth=None, synthetic=False, events=ev)
    from analysis.report.answer.table import answer_paragraphs

    s = AnswerSection(answer_paragraphs(ans, [EVIL], ev), ans, None, [EVIL], None, None)
    page = pages.report_page(manifest(), [], {}, s)
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_headline_text_states_rank_multiples_and_bounds(published):
    _, answer = published
    h = headline_from_answer(answer)
    json.dumps(h, allow_nan=False)
    text = headline_text(h, n=2)
    assert text == (f"Signal US ios: at least \u00d7{fmt(math.exp(3.2))}; "
                    f"Telegram US ios: \u00d7{fmt(math.exp(2.0))} ({fmt(math.exp(1.5))}\u2013{fmt(math.exp(2.5))})")
    # manifests written before the answer table still render
    assert headline_text([{"series": "Old US", "estimate": -1.0, "ci_low": -2.0, "ci_high": -0.5}]) == \
        f"Old US: \u00d7{fmt(math.e)} ({fmt(math.exp(0.5))}\u2013{fmt(math.exp(2.0))})"


def test_the_runner_wires_the_answer_into_page_manifest_and_index(published, tmp_path):
    import shutil

    from analysis.report.run import runner

    d, answer = published
    root = tmp_path / "reports"
    v = root / "demo" / "demo-20210101-abc"
    shutil.copytree(d, v)
    section = load_answer_section(v)
    m = manifest(answer={"paragraphs": [list(p) for p in section.paragraphs], "notes": section.notes,
                         "figure": section.figure_svg, "coverage": section.coverage.to_dicts()},
                 headline=headline_from_answer(section.answer))
    runner._write_pages(v, m, section)
    # a verified version (every file listed with its SHA-256): only verified answers open the index
    m["outputs"] = [{"path": p.relative_to(v).as_posix(), "sha256": runner.sha256(p.read_bytes())}
                    for p in sorted(v.rglob("*")) if p.is_file() and p.name != "manifest.json"]
    from analysis.report.run.publish import write_manifest
    from analysis.report.run.seal import version_hash

    m["version_hash"] = version_hash(m["parameters"], {}, m["code_fingerprint"])
    m["version"] = f"demo-20210101-{m['version_hash'][:12]}"
    write_manifest(v, m)  # sealed, as the runner writes it (issue 20: an unsealed manifest does not verify)
    assert "<h2>The answer</h2>" in (v / "index.html").read_text()
    index = runner.write_index(root).read_text()
    assert index.index("<h2>The answer</h2>") < index.index("<h2>Versions</h2>")
    assert pages.html.escape(section.paragraphs[0][1]) in index and "Truth coverage" in index
    assert pages.html.escape(runner.headline(m)) in index and runner.headline(m).startswith("Signal US ios: at least")
