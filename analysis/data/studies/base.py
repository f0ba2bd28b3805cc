"""What every study gives a run: :class:`StudyData`, and the helpers the study loaders share.

A study turns parameters into a :class:`StudyData`: the validated rank panel, the events, and
the input files to record (name, bytes) with their SHA-256 in the report's manifest.  The
loaders live beside this module (:mod:`.registry` for the demo, archive and custom studies,
:mod:`.wikipedia` and :mod:`.wiki_dp` for the pageview studies); they all import from here, so
they never import each other's internals.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from analysis.config import EVENTS_FILE, ROOT
from analysis.data.demo import world as demo_mod


@dataclass
class StudyData:
    """The data of one study run: panel, events, provenance, and for the demo its truth."""

    name: str
    title: str
    synthetic: bool
    panel: pl.DataFrame
    events: pl.DataFrame
    chart_depth: int
    truth: demo_mod.DemoData | None = None
    inputs: dict[str, bytes] = field(default_factory=dict)  # file name -> exact bytes used
    sources: list[dict[str, str]] = field(default_factory=list)  # provenance records
    views: pl.DataFrame | None = None  # pageview studies: every article x day, censoring explicit
    notes: list[str] = field(default_factory=list)  # what the study measures and cannot say
    outcome: str = "rank"  # what the effects measure: "rank" | "attention" | "views" | "dp-views" (analysis.data.outcome)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (every input's identity in the manifest)."""
    return hashlib.sha256(data).hexdigest()


def rel_path(path: Path) -> str:
    """``path`` relative to the project root where it is inside it (shorter messages)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def events_source() -> dict[str, str]:
    """The provenance record of the curated events table."""
    return {
        "name": "Curated events, January 2021",
        "licence": "facts with sources (each row cites its URL)",
        "url": str(EVENTS_FILE.relative_to(ROOT)),
        "detail": "written for this project from public reporting",
    }
